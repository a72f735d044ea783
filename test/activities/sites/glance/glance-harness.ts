/**
 * The `glance` backend for the SiteBackend conformance suite: a real Glance API (no auth, file
 * store). `imagesInUse: "never"` because the suite expects a fresh image to be unused, and Glance
 * cannot see instances: by default the backend answers "in use" (see docs/sites/glance.md).
 */
import { join } from 'node:path';
import { writePart } from '../../../support/cached-parts.js';
import { startGlanceServer } from '../../../support/glance-server.js';
import type { SiteBackendHarnessFactory } from '../site-backend-conformance.js';
import { glanceReader, glanceSite } from './glance-fixture.js';

const harness: SiteBackendHarnessFactory = {
  name: 'glance (glance-api)',
  async start(dir) {
    const glance = await startGlanceServer(join(dir, 'glance'));
    const reader = glanceReader(glance.url);
    return {
      backend: await glanceSite(dir, { noAuth: true, imageUrl: glance.url, imagesInUse: 'never' }),
      parts: async (into) => [
        await writePart(into, 'FILESYSTEM', 2 << 20, { zeros: 1 << 20 }),
        await writePart(into, 'KERNEL', 1 << 19),
        await writePart(into, 'RAMDISK', 1 << 19),
      ],
      // Everything this Glance holds is the suite's: any image left (queued or not) is a leftover.
      leftovers: async () => (await reader.images()).map((i) => `image ${i.id} ${i.name} ${i.status}`),
      dispose: () => glance.stop(),
    };
  },
};
export default harness;
