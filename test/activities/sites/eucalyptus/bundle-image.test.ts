/** The streamed bundle on its own: parts, sizes, and the gzip stream it compresses into. */
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { crc32, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleImage, type BundledPart } from '../../../../activities/sites/eucalyptus/bundle-image.js';
import { crc32Combine } from '../../../../activities/sites/eucalyptus/crc32-combine.js';
import { createParallelGzip } from '../../../../activities/sites/eucalyptus/parallel-gzip.js';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { newTestDir } from '../../../support/image-proxy-world.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

describe('crc32Combine', () => {
  it('gives the CRC of the concatenation', () => {
    for (const [a, b] of [[0, 0], [1, 5], [1000, 1 << 20], [65536, 3], [7, 0]] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      expect(crc32Combine(crc32(x), crc32(y), y.length)).toBe(crc32(Buffer.concat([x, y])));
    }
  });
});

describe('bundleImage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await newTestDir('bundle');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function bundleTo(image: string, outDir: string, opts: { partSize?: number; threads?: number } = {}) {
    const key = Buffer.alloc(16, 7);
    const iv = Buffer.alloc(16, 9);
    const seen: BundledPart[] = [];
    const { mkdir } = await import('node:fs/promises');
    await mkdir(outDir, { recursive: true });
    const result = await bundleImage({ imagePath: image, name: 'img', workDir: outDir, key, iv, onPart: async (p) => void seen.push(p), ...opts });
    const parts = await Promise.all(seen.map((p) => readFile(p.path)));
    const decipher = createDecipheriv('aes-128-cbc', key, iv);
    const gz = Buffer.concat([decipher.update(Buffer.concat(parts)), decipher.final()]);
    return { result, seen, parts, gz };
  }

  it('an image of exactly 10 MiB, and a bundle of exactly N parts, have no empty last part', async () => {
    const image = join(dir, 'ten.img');
    await writeFile(image, pseudoRandomBytes(10 * MiB, 42));
    const a = await bundleTo(image, join(dir, 'a'));
    expect(a.result.size).toBe(10 * MiB);
    expect(a.seen.map((p) => p.filename)).toEqual(['img.part.00', 'img.part.01']);
    expect(a.seen.every((p) => p.size > 0)).toBe(true);
    expect(a.parts[0]!.length).toBe(10 * MiB);

    // Cut the same (deterministic) stream into parts of exactly half its length: two parts, not three.
    const half = a.result.bundledSize / 2;
    const b = await bundleTo(image, join(dir, 'b'), { partSize: half });
    expect(b.result.bundledSize).toBe(a.result.bundledSize);
    expect(b.seen.map((p) => p.size)).toEqual([half, half]);
    expect(await readdir(join(dir, 'b'))).toEqual(['img.part.00', 'img.part.01']);
    for (const [i, p] of b.seen.entries()) {
      expect(p.sha1).toBe(createHash('sha1').update(b.parts[i]!).digest('hex'));
      expect(p.md5).toBe(createHash('md5').update(b.parts[i]!).digest('hex'));
    }
  });

  it('writes one standard gzip stream on two threads, read by gunzip, Python and zlib alike', async () => {
    const image = join(dir, 'mixed.img');
    const data = Buffer.concat([pseudoRandomBytes(3 * MiB, 1), Buffer.alloc(2 * MiB), Buffer.from('text '.repeat(300_000))]);
    await writeFile(image, data);
    const { gz, result } = await bundleTo(image, join(dir, 'c'), { threads: 2 });
    const tarBytes = gunzipSync(gz);
    expect(createHash('sha1').update(tarBytes).digest('hex')).toBe(result.digest);
    expect(tarBytes.subarray(512, 512 + data.length).equals(data)).toBe(true);
    const gzFile = join(dir, 'c.tar.gz');
    await writeFile(gzFile, gz);
    const { stdout: viaGunzip } = await run('sh', ['-c', `gunzip -c '${gzFile}' | sha1sum`]);
    expect(viaGunzip.split(' ')[0]).toBe(result.digest);
    const { stdout: viaPython } = await run('python3', ['-c', 'import gzip,hashlib,sys; print(hashlib.sha1(gzip.open(sys.argv[1]).read()).hexdigest())', gzFile]);
    expect(viaPython.trim()).toBe(result.digest);
    // And it compresses: the zero and text stretches shrink.
    expect(result.bundledSize).toBeLessThan(data.length * 0.7);
  });

  it('parallel gzip of nothing, and of odd-sized writes, is valid gzip', async () => {
    const empty = join(dir, 'empty.gz');
    await pipeline(Readable.from([]), createParallelGzip(), createWriteStream(empty));
    expect(gunzipSync(await readFile(empty)).length).toBe(0);
    const input = pseudoRandomBytes(300_001, 5);
    const odd = join(dir, 'odd.gz');
    const chunks = [input.subarray(0, 1), input.subarray(1, 70_000), input.subarray(70_000)];
    await pipeline(Readable.from(chunks), createParallelGzip({ blockSize: 65_536, threads: 3 }), createWriteStream(odd));
    expect(gunzipSync(await readFile(odd)).equals(input)).toBe(true);
  });

  it('fails on an image that is not there, leaving no part', async () => {
    const out = join(dir, 'd');
    await expect(bundleTo(join(dir, 'missing.img'), out)).rejects.toThrow(/ENOENT/);
    expect(await readdir(out)).toEqual([]);
  });
});
