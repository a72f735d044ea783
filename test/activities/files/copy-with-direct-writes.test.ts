/**
 * copyWithDirectWrites: the copy has the source's bytes and permission bits at every size around
 * the alignment O_DIRECT needs, neither it nor a source that was not cached stays in the page cache
 * (what it is for: `fincore` counts the resident bytes), and a failed copy leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWithDirectWrites } from '../../../activities/files/copy-with-direct-writes.js';
import { openFileWriter } from '../../../activities/files/direct-file-writer.js';
import { newTestDir } from '../../support/image-proxy-world.js';
import { residentBytes } from '../../support/page-cache.js';

const sha1 = async (path: string): Promise<string> => createHash('sha1').update(await readFile(path)).digest('hex');


describe('copyWithDirectWrites', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await newTestDir('direct-copy');
  });
  afterAll(async () => {
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  const MiB = 1 << 20;
  it.each([0, 1, 4095, 4096, 4097, 4 * MiB, 4 * MiB + 4097, 9 * MiB + 123])('copies %i bytes exactly', async (size) => {
    const from = join(dir, `source-${size}`);
    const to = join(dir, `copy-${size}`);
    await writeFile(from, randomBytes(size));
    await writeFile(to, randomBytes(5 * MiB)); // a longer file there before: truncated
    expect(await copyWithDirectWrites(from, to)).toBe(true);
    expect((await stat(to)).size).toBe(size);
    expect(await sha1(to)).toBe(await sha1(from));
  });

  it('keeps the source\'s permission bits', async () => {
    const from = join(dir, 'source-mode');
    await writeFile(from, randomBytes(10_000));
    await chmod(from, 0o640);
    await copyWithDirectWrites(from, join(dir, 'copy-mode'));
    expect((await stat(join(dir, 'copy-mode'))).mode & 0o7777).toBe(0o640);
  });

  it('leaves the copy out of the page cache (all but the unaligned tail), unlike a plain copy', async () => {
    const from = join(dir, 'source-cache');
    await writeFile(from, randomBytes(16 * MiB + 100));
    await copyWithDirectWrites(from, join(dir, 'copy-cache'));
    expect(residentBytes(join(dir, 'copy-cache'))).toBeLessThanOrEqual(4096);
    expect(residentBytes(from)).toBeGreaterThan(8 * MiB); // the check sees a cached file as cached
  });

  it('reads a source that is not in the page cache without bringing it in (a part a download wrote past the cache)', async () => {
    const from = join(dir, 'source-uncached');
    const bytes = randomBytes(8 * MiB + 5);
    const writer = await openFileWriter(from, 'create');
    await writer.write(bytes, 0);
    await writer.close();
    expect(residentBytes(from)).toBeLessThanOrEqual(4096);
    await copyWithDirectWrites(from, join(dir, 'copy-uncached'));
    expect(residentBytes(from)).toBeLessThanOrEqual(4096);
    expect(residentBytes(join(dir, 'copy-uncached'))).toBeLessThanOrEqual(4096);
    expect(await sha1(join(dir, 'copy-uncached'))).toBe(createHash('sha1').update(bytes).digest('hex'));
  });

  it('fails on a source it cannot read and leaves no file at the target', async () => {
    const from = join(dir, 'a-directory');
    await mkdir(from);
    const to = join(dir, 'copy-of-directory');
    await expect(copyWithDirectWrites(from, to)).rejects.toMatchObject({ code: 'EISDIR' });
    expect(existsSync(to)).toBe(false);
  });
});
