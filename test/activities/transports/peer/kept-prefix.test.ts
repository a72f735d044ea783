/** The pure parts of resuming a fetch from peers, and re-hashing a kept prefix from disk. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { PEER_RESUME_TOKEN, piecesToKeep, prefixWrittenInOrder, readKeptPrefix } from '../../../../activities/transports/peer/kept-prefix.js';
import { hashPiecesOfFile, prefixDigestsOfFile } from '../../../../activities/transports/peer/prefix-digests.js';

const P = 1000;

describe('which bytes an earlier attempt wrote in file order', () => {
  it('the peer path and the HTTP transport (their tokens) write front to back; BitTorrent or an unknown writer keeps nothing', () => {
    expect(prefixWrittenInOrder({ bytesDone: 5000, resumeToken: PEER_RESUME_TOKEN })).toBe(5000);
    expect(prefixWrittenInOrder({ bytesDone: 5000, resumeToken: JSON.stringify({ url: 'http://o/x', validator: '"e"' }) })).toBe(5000);
    expect(prefixWrittenInOrder({ bytesDone: 5000, pieces: { verified: 3, total: 9 } })).toBe(0);
    expect(prefixWrittenInOrder({ bytesDone: 5000, resumeToken: 'something else' })).toBe(0);
    expect(prefixWrittenInOrder(undefined)).toBe(0);
  });

  it('keeps whole pieces only; all of a part of known size; one piece left to fetch while the size is unknown', () => {
    expect(piecesToKeep({ bytes: 3500, pieceBytes: P, size: 10_500 })).toBe(3);
    expect(piecesToKeep({ bytes: 10_500, pieceBytes: P, size: 10_500 })).toBe(11);
    expect(piecesToKeep({ bytes: 3000, pieceBytes: P })).toBe(2);
    expect(piecesToKeep({ bytes: 3500, pieceBytes: P })).toBe(3);
    expect(piecesToKeep({ bytes: 3000, pieceBytes: P, reportedTotal: 3000 })).toBe(2);
    expect(piecesToKeep({ bytes: 3000, pieceBytes: P, reportedTotal: 9000 })).toBe(3);
    expect(piecesToKeep({ bytes: 0, pieceBytes: P })).toBe(0);
  });
});

describe('reading a kept prefix back', () => {
  let dir: string;
  const data = pseudoRandomBytes(10 * P + 321, 3);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kept-'));
    await writeFile(join(dir, 'whole'), data);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('hashes the first pieces once: the running hash continues to the part hash, the digests are the prefix digests', async () => {
    const all = await prefixDigestsOfFile(join(dir, 'whole'), data.length, 'sha1', P);
    const got = await hashPiecesOfFile(join(dir, 'whole'), { bytes: 4 * P, algorithm: 'sha1', pieceBytes: P });
    expect(got.prefixDigests).toEqual(all.prefixDigests.slice(0, 4));
    got.running.update(data.subarray(4 * P));
    expect(got.running.digest('hex')).toBe(createHash('sha1').update(data).digest('hex'));
  });

  it('stops before the first piece the check refuses, with the hash of the pieces before it', async () => {
    const got = await hashPiecesOfFile(join(dir, 'whole'), { bytes: 6 * P, algorithm: 'sha1', pieceBytes: P, accept: (i) => i !== 2 });
    expect(got.prefixDigests).toHaveLength(2);
    expect(got.running.digest('hex')).toBe(createHash('sha1').update(data.subarray(0, 2 * P)).digest('hex'));
  });

  it('keeps the pieces before a tampered one and cuts the file there', async () => {
    const trusted = await prefixDigestsOfFile(join(dir, 'whole'), data.length, 'sha1', P);
    const partial = Buffer.from(data.subarray(0, 5 * P + 10));
    partial[3 * P + 7] = partial[3 * P + 7]! ^ 0xff;
    await writeFile(join(dir, 'partial'), partial);
    const kept = await readKeptPrefix(join(dir, 'partial'), { claimed: 5 * P + 10, pieceBytes: P, algorithm: 'sha1', trusted });
    expect(kept).toMatchObject({ pieces: 3, bytes: 3 * P, badPiece: 3 });
    expect((await stat(join(dir, 'partial'))).size).toBe(3 * P);
  });

  it('keeps no more than the earlier attempt claimed, nor than the file holds; an absent file keeps nothing', async () => {
    await writeFile(join(dir, 'partial'), data.subarray(0, 6 * P));
    expect((await readKeptPrefix(join(dir, 'partial'), { claimed: 4 * P + 5, pieceBytes: P, algorithm: 'sha1' })).pieces).toBe(4);
    expect((await stat(join(dir, 'partial'))).size).toBe(4 * P);
    expect((await readKeptPrefix(join(dir, 'partial'), { claimed: 9 * P, reportedTotal: data.length, pieceBytes: P, algorithm: 'sha1' })).pieces).toBe(4);
    expect((await readKeptPrefix(join(dir, 'absent'), { claimed: 9 * P, pieceBytes: P, algorithm: 'sha1' })).pieces).toBe(0);
  });
});
