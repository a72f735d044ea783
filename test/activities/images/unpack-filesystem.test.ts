/** Unpacking ZFILESYSTEM content from real compressed files: every format, with and without tar, and bad layouts. */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackFilesystem } from '../../../activities/images/unpack-filesystem.js';
import { compress, compressibleImage, tarOf, type TestCompression } from '../../support/compressed-images.js';
import { newTestDir } from '../../support/image-proxy-world.js';
import { ImageProxyError } from '../../../common/errors.js';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

describe('unpackFilesystem', () => {
  let dir: string;
  const image = compressibleImage(3 << 20, 7);
  beforeAll(async () => {
    dir = await newTestDir('unpack');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function unpack(content: Buffer, name: string) {
    const source = join(dir, `${name}.in`);
    const dest = join(dir, `${name}.out`);
    await writeFile(source, content);
    const progress: number[] = [];
    const result = await unpackFilesystem({ source, dest, url: `http://origin/${name}`, onProgress: (n) => progress.push(n) });
    return { result, out: await readFile(dest), progress };
  }

  for (const how of ['gzip', 'bzip2', 'xz'] as TestCompression[]) {
    it(`${how}: the raw image, byte for byte, plain and as tar member filesystem or ./filesystem`, async () => {
      const plain = await unpack(await compress(image, how), `${how}-plain`);
      expect(plain.result).toEqual({ compression: how, fromTar: false, bytes: image.length });
      expect(sha1(plain.out)).toBe(sha1(image));
      expect(plain.progress.at(-1)).toBeGreaterThan(0);

      const tarred = await tarOf([{ name: 'README', data: Buffer.from('about') }, { name: 'filesystem', data: image }, { name: 'kernel', data: Buffer.from('k') }]);
      const t = await unpack(await compress(tarred, how), `${how}-tar`);
      expect(t.result).toEqual({ compression: how, fromTar: true, bytes: image.length });
      expect(sha1(t.out)).toBe(sha1(image));

      const dotted = await unpack(await compress(await tarOf([{ name: './filesystem', data: image }]), how), `${how}-dot`);
      expect(sha1(dotted.out)).toBe(sha1(image));
    });
  }

  const rejected: { name: string; content: () => Promise<Buffer>; message: RegExp }[] = [
    { name: 'a tar with no filesystem member', content: async () => compress(await tarOf([{ name: 'disk.img', data: image.subarray(0, 4096) }]), 'gzip'), message: /tar has no member named filesystem \(it holds "disk.img"/ },
    { name: 'a member ../filesystem', content: async () => compress(await tarOf([{ name: '../filesystem', data: image.subarray(0, 4096) }]), 'xz'), message: /tar member name "..\/filesystem" points outside the archive/ },
    { name: 'an absolute member name', content: async () => compress(await tarOf([{ name: 'filesystem', data: Buffer.from('x') }, { name: '/etc/passwd', data: Buffer.from('x') }]), 'gzip'), message: /"\/etc\/passwd" points outside/ },
    { name: 'a symlink named filesystem', content: async () => compress(await tarOf([{ name: 'filesystem', type: 'symlink', linkname: '/etc/shadow' }]), 'gzip'), message: /tar member "filesystem" is a symlink, not a file/ },
    { name: 'two filesystem members', content: async () => compress(await tarOf([{ name: 'filesystem', data: Buffer.from('a') }, { name: './filesystem', data: Buffer.from('b') }]), 'bzip2'), message: /more than one member named filesystem/ },
    { name: 'uncompressed content', content: async () => image.subarray(0, 4096), message: /is not gzip, bzip2 or xz \(it starts with 626c6f636b/ },
    { name: 'zstd content', content: async () => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]), message: /is zstd, which is not unpacked/ },
    { name: 'a corrupt gzip stream', content: async () => { const gz = await compress(image, 'gzip'); gz.fill(0x55, 100, 400); return gz; }, message: /cannot be unpacked as gzip/ },
    { name: 'a truncated xz stream', content: async () => (await compress(image, 'xz')).subarray(0, 2000), message: /cannot be unpacked as xz/ },
  ];
  for (const bad of rejected) {
    it(`rejects ${bad.name} as BadArchive, naming the part`, async () => {
      const name = bad.name.replace(/\W+/g, '-');
      const err = await unpack(await bad.content(), name).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ImageProxyError);
      expect((err as ImageProxyError).type).toBe('BadArchive');
      expect((err as ImageProxyError).nonRetryable).toBe(true);
      expect((err as Error).message).toContain(`ZFILESYSTEM part http://origin/${name}:`);
      expect((err as Error).message).toMatch(bad.message);
    });
  }

  it('leaves no stray files of its own beside the output', async () => {
    const files = await readdir(dir);
    expect(files.every((f) => f.endsWith('.in') || f.endsWith('.out'))).toBe(true);
  });
});
