/**
 * ZFILESYSTEM parts through the whole workflow on a local site: every compression, with and
 * without a tar wrapper, published as the byte-identical raw image; bad layouts are refused.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationFailedError } from '../../../client/image-proxy-client.js';
import { compress, compressibleImage, tarOf, type TestCompression } from '../../support/compressed-images.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { cacheDirOf, startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

describe('ZFILESYSTEM on a local site', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('zfs');
  let seed = 100;

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  /** Publish `content` as the ZFILESYSTEM part of a new image, under a name that says nothing of its format. */
  function publish(content: Buffer): { url: string; guid: string; partUrl: string } {
    const prefix = `/z${++seed}`;
    const partUrl = origin.addBuffer(`${prefix}/filesystem.img`, content);
    const metadata = `<?xml version="1.0"?>\n<images>\n  <image>\n    <type>ZFILESYSTEM</type>\n    <signature>${sha1(content)}</signature>\n    <url>${partUrl}</url>\n  </image>\n</images>\n`;
    return { url: origin.addBuffer(`${prefix}/image.xml`, metadata), guid: sha1(metadata), partUrl };
  }

  it('gz, bz2 and xz, each plain and in a tar: the FILESYSTEM published is the raw image, byte for byte', async () => {
    const variants = (['gzip', 'bzip2', 'xz'] as TestCompression[]).flatMap((how) => [
      { how, tar: false },
      { how, tar: true },
    ]);
    await Promise.all(
      variants.map(async ({ how, tar }) => {
        const raw = compressibleImage(2 << 20, ++seed);
        const inner = tar ? await tarOf([{ name: 'etc-release', data: Buffer.from('x') }, { name: './filesystem', data: raw }]) : raw;
        const content = await compress(inner, how);
        const image = publish(content);
        const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
        expect(Object.keys(result.ids)).toEqual(['FILESYSTEM']);
        expect([how, tar, sha1(await readFile(result.ids.FILESYSTEM!))]).toEqual([how, tar, sha1(raw)]);
        // Unpacked once into the cache, beside the verified download.
        expect(sha1(await readFile(join(cacheDirOf(world), `${sha1(content)}.raw`)))).toBe(sha1(raw));
      }),
    );
  });

  for (const bad of [
    { name: 'a tar with no filesystem member', members: [{ name: 'disk.img', data: Buffer.alloc(4096, 7) }], expected: /tar has no member named filesystem/ },
    { name: 'a tar whose member ../filesystem escapes', members: [{ name: '../filesystem', data: Buffer.alloc(4096, 7) }], expected: /tar member name "\.\.\/filesystem" points outside the archive/ },
  ]) {
    it(`refuses ${bad.name}: a clear, final error, nothing published or left behind`, async () => {
      const content = await compress(await tarOf(bad.members), 'gzip');
      const image = publish(content);
      const started = Date.now();
      const err = await world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(RegistrationFailedError);
      expect(err!.message).toContain(`ZFILESYSTEM part ${image.partUrl}: `);
      expect(err!.message).toMatch(bad.expected);
      expect(Date.now() - started).toBeLessThan(15_000); // not retried
      const siteDir = await readdir(join(world.dataDir, 'sites', site)).catch(() => [] as string[]);
      expect(siteDir.filter((f) => f === image.guid || f.startsWith('.'))).toEqual([]);
      expect(await readdir(join(cacheDirOf(world), '.partial'))).toEqual([]);
      expect((await readdir(cacheDirOf(world))).filter((f) => f.endsWith('.raw') && f.startsWith(sha1(content)))).toEqual([]);
    });
  }
});
