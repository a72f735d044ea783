/** The peer endpoint's memory of recent ranges and its shared open files, against real files. */
import { mkdtemp, open, rm, unlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecentRanges } from '../../../../activities/transports/peer/recent-ranges.js';
import { SharedFileHandles } from '../../../../activities/transports/peer/shared-file-handles.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ranges-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('RecentRanges', () => {
  it('answers a range asked again from memory, and keeps no more bytes than its bound', async () => {
    const path = join(dir, 'part');
    await writeFile(path, Buffer.from('0123456789abcdef'));
    const file = await open(path, 'r');
    const ranges = new RecentRanges(8);
    const first = await ranges.read('p', file, 0, 3);
    expect(first.toString()).toBe('0123');
    await writeFile(path, Buffer.from('XXXXXXXXXXXXXXXX')); // (a cache file never changes: this shows where the answer comes from)
    expect((await ranges.read('p', file, 0, 3)).toString()).toBe('0123'); // from memory, no second read
    await ranges.read('p', file, 4, 7);
    await ranges.read('p', file, 8, 11); // 12 bytes asked for, 8 kept: the oldest (0-3) goes
    expect((await ranges.read('p', file, 0, 3)).toString()).toBe('XXXX'); // read again
    await file.close();
  });

  it('a range past the end of the file fails, and the failure is not kept', async () => {
    const path = join(dir, 'short');
    await writeFile(path, Buffer.from('abc'));
    const file = await open(path, 'r');
    const ranges = new RecentRanges(1024);
    await expect(ranges.read('p', file, 0, 9)).rejects.toThrow(/ended 7 bytes before the range did/);
    await appendFile(path, Buffer.from('defghij'));
    expect((await ranges.read('p', file, 0, 9)).toString()).toBe('abcdefghij');
    await file.close();
  });
});

describe('SharedFileHandles', () => {
  it('one open file for concurrent users; its size is asked again only when the known one is not enough', async () => {
    const path = join(dir, 'growing');
    await writeFile(path, Buffer.alloc(10));
    const files = new SharedFileHandles(50);
    const a = await files.acquire(path);
    const b = await files.acquire(path);
    expect(a.file).toBe(b.file);
    expect(await a.size(5)).toBe(10);
    await appendFile(path, Buffer.alloc(10));
    expect(await a.size(10)).toBe(10); // enough known: no stat
    expect(await a.size(15)).toBe(20);
    a.release();
    b.release();
    await new Promise((r) => setTimeout(r, 120));
    const c = await files.acquire(path);
    expect(c.file).not.toBe(a.file); // closed after being idle, opened again
    c.release();
  });

  it('a missing file rejects, and a later acquire tries again', async () => {
    const path = join(dir, 'late');
    const files = new SharedFileHandles(50);
    await expect(files.acquire(path)).rejects.toThrow(/ENOENT/);
    await writeFile(path, 'x');
    const got = await files.acquire(path);
    expect(await got.size(1)).toBe(1);
    got.release();
    await unlink(path);
  });
});
