/**
 * The writers a download uses for its cache file: the bytes land exactly, wherever the writes start
 * and end against the 4 KiB blocks O_DIRECT needs; the file stays out of the page cache (what the
 * writers are for: `fincore` counts the resident bytes); a file system that refuses O_DIRECT gets
 * ordinary writes; and a stream destroyed mid-way writes nothing after it has closed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileWriter } from '../../../activities/files/direct-file-writer.js';
import { GatheringWriteStream } from '../../../activities/files/gathering-write-stream.js';
import { newTestDir } from '../../support/image-proxy-world.js';
import { residentBytes } from '../../support/page-cache.js';

const MiB = 1 << 20;
const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex');


/** `bytes` cut into pieces of random sizes (socket reads are 64 KiB at most, often less). */
function* randomChunks(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, 1 + Math.floor(Math.random() * 70_000));
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

describe('openFileWriter', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await newTestDir('direct-writer');
  });
  afterAll(async () => {
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  it('writes 1 MiB pieces and an odd last one exactly, past the page cache', async () => {
    const path = join(dir, 'pieces');
    const bytes = randomBytes(9 * MiB + 4097);
    const writer = await openFileWriter(path, 'create');
    expect(writer.direct).toBe(true); // ext4 takes O_DIRECT
    // Out of order, as pieces from peers come.
    for (const i of [1, 0, 3, 2, 5, 4, 7, 6, 9, 8]) await writer.write(bytes.subarray(i * MiB, Math.min((i + 1) * MiB, bytes.length)), i * MiB);
    await writer.close();
    expect(residentBytes(path)).toBeLessThanOrEqual(4096); // only the unaligned tail's block went through the cache
    expect(sha1(await readFile(path))).toBe(sha1(bytes));
  });

  it.each([
    ['an unaligned start and end', 1000, 3 * MiB + 17],
    ['less than a block', 4090, 5],
    ['exactly a block', 4096, 4096],
  ])('writes with %s exactly', async (_what, position, length) => {
    const path = join(dir, `span-${position}-${length}`);
    const before = randomBytes(position);
    await writeFile(path, before);
    const bytes = randomBytes(length);
    const writer = await openFileWriter(path, 'update');
    await writer.write(bytes, position);
    await writer.close();
    expect(sha1(await readFile(path))).toBe(sha1(Buffer.concat([before, bytes])));
  });

  it('writes through the page cache when direct writes are turned off (IMAGEPROXY_DIRECT_WRITES=off)', async () => {
    const path = join(dir, 'plain');
    const bytes = randomBytes(2 * MiB + 3);
    process.env.IMAGEPROXY_DIRECT_WRITES = 'off';
    try {
      const writer = await openFileWriter(path, 'create');
      expect(writer.direct).toBe(false);
      await writer.write(bytes, 0);
      await writer.close();
    } finally {
      delete process.env.IMAGEPROXY_DIRECT_WRITES;
    }
    expect(residentBytes(path)).toBe(bytes.length + 4093); // every page, the last one whole
    expect(sha1(await readFile(path))).toBe(sha1(bytes));
  });
});

describe('GatheringWriteStream', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await newTestDir('gathering-stream');
  });
  afterAll(async () => {
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  it.each([0, 1, 4097, 3 * MiB + 5])('streams a body of random chunks after a kept prefix of %i bytes exactly, past the page cache', async (kept) => {
    const path = join(dir, `stream-${kept}`);
    const prefix = randomBytes(kept);
    if (kept > 0) await writeFile(path, prefix);
    const body = randomBytes(6 * MiB + 12345);
    await pipeline(Readable.from(randomChunks(body)), await GatheringWriteStream.open(path, kept));
    // The kept prefix was written by writeFile; after it, only the blocks around its end and the body's.
    expect(residentBytes(path)).toBeLessThanOrEqual(kept + 3 * 4096);
    expect(sha1(await readFile(path))).toBe(sha1(Buffer.concat([prefix, body])));
  });

  it('writes nothing once destroyed: the file holds whole MiB of what came, and does not change after close', async () => {
    const path = join(dir, 'destroyed');
    const body = randomBytes(5 * MiB + 100);
    const stream = await GatheringWriteStream.open(path, 0);
    const source = Readable.from(randomChunks(body.subarray(0, 3 * MiB + 100)));
    const failing = pipeline(source, stream, { end: false }).then(() => stream.destroy(new Error('connection lost')));
    await failing;
    await new Promise((r) => stream.once('close', r));
    const size = (await stat(path)).size;
    expect(size % MiB).toBe(0);
    expect(size).toBeLessThanOrEqual(3 * MiB);
    expect(sha1(await readFile(path))).toBe(sha1(body.subarray(0, size)));
    await new Promise((r) => setTimeout(r, 200));
    expect((await stat(path)).size).toBe(size);
  });
});
