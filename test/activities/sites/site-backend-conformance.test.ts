/** The SiteBackend conformance suite against each backend, each in its real world. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalSite } from '../../../activities/sites/local/local-site.js';
import { writeEucalyptusCredentials } from '../../support/eucalyptus-credentials.js';
import { startMotoServer } from '../../support/moto-server.js';
import { instrumentedSite } from './eucalyptus/eucalyptus-fixture.js';
import { describeSiteBackendConformance } from './site-backend-conformance.js';

describeSiteBackendConformance('local', async (dir) => {
  const siteDir = join(dir, 'site');
  return {
    backend: createLocalSite({ site: 'local-conformance', dir: siteDir }),
    leftovers: async () => readdir(siteDir).catch(() => []),
  };
});

describeSiteBackendConformance('eucalyptus (moto_server)', async (dir) => {
  const moto = await startMotoServer();
  const creds = await writeEucalyptusCredentials(dir, { ec2Url: moto.url, s3Url: moto.url });
  const site = await instrumentedSite(creds, join(dir, 'work'));
  return {
    backend: site.backend,
    leftovers: async () => [
      ...(await site.imagesNamed('')).map((i) => `image ${i.ImageId} ${i.Name}`),
      ...(await site.objects()).map((k) => `object ${k}`),
      ...(await readdir(join(dir, 'work')).catch(() => [])).map((f) => `work file ${f}`),
    ],
    dispose: () => moto.stop(),
  };
});
