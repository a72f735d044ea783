/**
 * The `xcat` backend for the SiteBackend conformance suite: a real sshd with the stand-in xCAT
 * commands as the management node; parts are netboot sets (kernel, gzip'd initrd, tar.gz root).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createXcatSite } from '../../../../activities/sites/xcat/xcat-site.js';
import { parseXcatSiteOptions } from '../../../../activities/sites/xcat/xcat-site-options.js';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import type { CachedPart, PartType } from '../../../../common/image-types.js';
import { XcatManagementNode } from '../../../support/xcat-management-node.js';
import { writeRootArchive } from '../../../support/xcat-sample-images.js';
import type { SiteBackendHarnessFactory } from '../site-backend-conformance.js';

let seed = Math.floor(Math.random() * 1e6);

const STANDING = ['.imageproxy/', '.imageproxy/images/', '.imageproxy/staging/', 'netboot/', 'netboot/rhels8.6/', 'netboot/rhels8.6/x86_64/'];

async function cachedPart(type: PartType, path: string): Promise<CachedPart> {
  const data = await readFile(path);
  const hex = createHash('sha1').update(data).digest('hex');
  return { type, hash: { algorithm: 'sha1', hex }, url: `http://origin.invalid/${hex}`, path, size: data.length };
}

const harness: SiteBackendHarnessFactory = {
  name: 'xcat (sshd stand-in)',
  async start() {
    const mn = await new XcatManagementNode().start();
    const site = 'xcat-conformance';
    return {
      backend: createXcatSite({ site, config: parseXcatSiteOptions(site, mn.siteConfig()), privateKey: await readFile(mn.clientKeyPath) }),
      async parts(into) {
        const s = ++seed;
        const kernel = join(into, `vmlinuz-${s}`);
        const initrd = join(into, `initrd-${s}.gz`);
        await writeFile(kernel, pseudoRandomBytes(200_000, s * 7 + 1));
        await writeFile(initrd, gzipSync(pseudoRandomBytes(300_000, s * 7 + 2)));
        const root = await writeRootArchive(into, 'tar.gz', 1 << 20, s * 7 + 3);
        return [await cachedPart('KERNEL', kernel), await cachedPart('RAMDISK', initrd), await cachedPart('ZFILESYSTEM', root)];
      },
      // The state directory's own folders and xCAT's netboot layout (netboot/<osvers>/<osarch>/) stay;
      // anything else under the install root, or any osimage, is a leftover.
      leftovers: async () => [
        ...(await mn.filesUnderInstallRoot()).filter((f) => !STANDING.includes(f)).map((f) => `file ${f}`),
        ...(await mn.osimages()).map((o) => `osimage ${o}`),
      ],
      dispose: () => mn.stop(),
    };
  },
};
export default harness;
