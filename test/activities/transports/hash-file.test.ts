/**
 * hashFileAsItGrows: the whole-file hash of a file still being written, read only where it is
 * final, so a BitTorrent download fetched in file order is hashed as it arrives (following-file-hash.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile, hashFileAsItGrows } from '../../../activities/transports/hash-file.js';
import { newTestDir } from '../../support/image-proxy-world.js';

const MiB = 1 << 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('hashFileAsItGrows', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await newTestDir('hash-file');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes a file written out of order, reading only the bytes marked final, and equals the hash of the whole', async () => {
    const data = randomBytes(5 * MiB + 123);
    const path = join(dir, 'growing');
    const final: boolean[] = [];
    const pieceOf = (at: number): number => Math.floor(at / MiB);
    const has = (start: number, end: number): boolean => {
      for (let p = pieceOf(start); p <= pieceOf(end - 1); p++) if (!final[p]) return false;
      return true;
    };
    const progress: number[] = [];
    // Started before the file exists: it waits for the first bytes.
    const hashing = hashFileAsItGrows(path, 'sha1', { total: data.length, has, signal: new AbortController().signal, pollMs: 5, onBytes: (b) => progress.push(b) });
    await sleep(30);
    const file = await open(path, 'w');
    // Not-yet-final bytes on disk are garbage: a reader that did not wait would hash them.
    await file.write(Buffer.alloc(data.length, 0xaa), 0, data.length, 0);
    for (const p of [2, 0, 5, 1, 4, 3]) {
      const start = p * MiB;
      const end = Math.min(start + MiB, data.length);
      await file.write(data, start, end - start, start);
      final[p] = true;
      await sleep(10);
    }
    await file.close();
    const got = await hashing;
    expect(got).toEqual({ bytes: data.length, hashHex: createHash('sha1').update(data).digest('hex'), bytesFromMemory: 0 });
    expect({ bytes: got.bytes, hashHex: got.hashHex }).toEqual(await hashFile(path, 'sha1'));
    expect(progress.at(-1)).toBe(data.length);
    expect(progress.length).toBeGreaterThan(1); // followed the prefix in steps, not at the end only
  });

  it('hashes pieces offered in memory where they continue the prefix, and reads only the gaps from disk', async () => {
    const data = randomBytes(6 * MiB + 123);
    const path = join(dir, 'offered');
    const file = await open(path, 'w');
    // On disk, garbage everywhere but piece 3: a piece hashed from the disk instead of memory spoils the hash.
    await file.write(Buffer.alloc(data.length, 0xaa), 0, data.length, 0);
    await file.write(data, 3 * MiB, MiB, 3 * MiB);
    await file.close();
    const final = new Set<number>();
    const has = (start: number, end: number): boolean => {
      for (let p = Math.floor(start / MiB); p <= Math.floor((end - 1) / MiB); p++) if (!final.has(p)) return false;
      return true;
    };
    let offer: ((fileStart: number, data: Uint8Array) => void) | undefined;
    let unsubscribed = false;
    let done = 0;
    const hashing = hashFileAsItGrows(path, 'sha1', {
      total: data.length,
      has,
      signal: new AbortController().signal,
      pollMs: 5,
      onBytes: (b) => (done = b),
      feed: (o) => {
        offer = o;
        return () => (unsubscribed = true);
      },
    });
    const junk = Buffer.alloc(100, 0x55); // bytes of the neighbouring files in a piece that spans files
    const piece = (p: number): Buffer => data.subarray(p * MiB, Math.min((p + 1) * MiB, data.length));
    // As webtorrent does it: offered once verified, then written (here: marked final).
    const verify = (p: number): void => {
      if (p === 0) offer!(-100, Buffer.concat([junk, piece(0)]));
      else if (p === 6) offer!(6 * MiB, Buffer.concat([piece(6), junk]));
      else offer!(p * MiB, piece(p));
      final.add(p);
    };
    for (const p of [0, 1, 3, 2]) verify(p); // 3 comes before 2: not where the hash is, left to the disk
    while (done < 4 * MiB) await sleep(5); // the disk read of piece 3
    for (const p of [4, 5, 6]) verify(p);
    const got = await hashing;
    expect(got.hashHex).toBe(createHash('sha1').update(data).digest('hex'));
    expect(got.bytes).toBe(data.length);
    expect(got.bytesFromMemory).toBe(data.length - MiB);
    expect(unsubscribed).toBe(true);
  });

  it('stops when aborted while it waits for bytes that never come', async () => {
    const path = join(dir, 'stalled');
    const file = await open(path, 'w');
    await file.write(randomBytes(MiB), 0, MiB, 0);
    await file.close();
    const abort = new AbortController();
    const hashing = hashFileAsItGrows(path, 'sha1', { total: 2 * MiB, has: (_s, end) => end <= MiB, signal: abort.signal, pollMs: 5 });
    await sleep(40);
    abort.abort(new Error('download cancelled'));
    await expect(hashing).rejects.toThrow('download cancelled');
    await rm(path);
  });
});
