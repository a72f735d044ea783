/** The `eucalyptus` backend for the SiteBackend conformance suite: moto_server as the cloud. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writePart } from '../../../support/cached-parts.js';
import { writeEucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { startMotoServer } from '../../../support/moto-server.js';
import type { SiteBackendHarnessFactory } from '../site-backend-conformance.js';
import { instrumentedSite } from './eucalyptus-fixture.js';

const harness: SiteBackendHarnessFactory = {
  name: 'eucalyptus (moto_server)',
  async start(dir) {
    const moto = await startMotoServer();
    const creds = await writeEucalyptusCredentials(dir, { ec2Url: moto.url, s3Url: moto.url });
    const site = await instrumentedSite(creds, join(dir, 'work'));
    return {
      backend: site.backend,
      parts: async (into) => [
        await writePart(into, 'FILESYSTEM', 2 << 20, { zeros: 1 << 20 }),
        await writePart(into, 'KERNEL', 1 << 19),
        await writePart(into, 'RAMDISK', 1 << 19),
      ],
      leftovers: async () => [
        ...(await site.imagesNamed('')).map((i) => `image ${i.ImageId} ${i.Name}`),
        ...(await site.objects()).map((k) => `object ${k}`),
        ...(await readdir(join(dir, 'work')).catch(() => [])).map((f) => `work file ${f}`),
      ],
      dispose: () => moto.stop(),
    };
  },
};
export default harness;
