/** The `local` backend for the SiteBackend conformance suite: a directory. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalSite } from '../../../../activities/sites/local/local-site.js';
import { writePart } from '../../../support/cached-parts.js';
import type { SiteBackendHarnessFactory } from '../site-backend-conformance.js';

const harness: SiteBackendHarnessFactory = {
  name: 'local',
  async start(dir) {
    const siteDir = join(dir, 'site');
    return {
      backend: createLocalSite({ site: 'local-conformance', dir: siteDir }),
      parts: async (into) => [
        await writePart(into, 'FILESYSTEM', 2 << 20, { zeros: 1 << 20 }),
        await writePart(into, 'KERNEL', 1 << 19),
        await writePart(into, 'RAMDISK', 1 << 19),
      ],
      leftovers: async () => readdir(siteDir).catch(() => []),
    };
  },
};
export default harness;
