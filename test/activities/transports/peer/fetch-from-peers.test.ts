/**
 * The piece logic of fetching a part from peers, against peers that are functions over a buffer
 * (the wire itself is covered by test/workflows/fleet-distribution.test.ts with real processes).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { PIECE_BYTES, type PieceHashes } from '../../../../common/fleet-contract.js';
import { fetchFromPeers } from '../../../../activities/transports/peer/fetch-from-peers.js';
import { prefixDigestsOfFile } from '../../../../activities/transports/peer/prefix-digests.js';
import type { FetchRange, RangeAnswer } from '../../../../activities/transports/peer/peer-client.js';

const SIZE = 5 * PIECE_BYTES + 12345;
const data = pseudoRandomBytes(SIZE, 7);
const sha1 = createHash('sha1').update(data).digest('hex');

/** Peers by address: 'good' serves the data, 'bad' flips a byte of every piece, 'gone' is unreachable. */
function peers(kinds: Record<string, 'good' | 'bad' | 'gone'>, served: Record<string, number> = {}): FetchRange {
  return async (peer, _name, start, end): Promise<RangeAnswer> => {
    served[peer] = (served[peer] ?? 0) + 1;
    const kind = kinds[peer];
    if (kind === 'gone' || !kind) return { kind: 'failed', reason: 'connect ECONNREFUSED' };
    const bytes = Buffer.from(data.subarray(start, Math.min(end, SIZE)));
    if (kind === 'bad') bytes[0] = bytes[0]! ^ 1;
    return { kind: 'bytes', data: bytes, total: SIZE };
  };
}

describe('fetchFromPeers', () => {
  let dir: string;
  let pieces: PieceHashes;
  const warnings: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peers-'));
    warnings.length = 0;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'source'), data);
    pieces = await prefixDigestsOfFile(join(dir, 'source'), SIZE, 'sha1');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const base = (fetchRange: FetchRange, peerList: string[]) => ({
    name: 'x',
    destPath: join(dir, 'dest'),
    hashAlgorithm: 'sha1' as const,
    peers: peerList,
    fetchRange,
    stallTimeoutMs: 10_000,
    logger,
  });

  it('asks the peer furthest along, not a peer that is itself still waiting for the bytes', async () => {
    // 'ahead' is still downloading (a piece every 30 ms) and, like a real peer, holds a request for
    // bytes it does not have yet until they come. 'late' joined first but has nothing: it holds a
    // request 300 ms, then says so. Asking 'late' again and again is what chained the hosts up.
    const count = 40;
    const big = pseudoRandomBytes(count * PIECE_BYTES, 11);
    const startedAt = Date.now();
    const available = (): number => Math.min(count, Math.floor((Date.now() - startedAt) / 30) + 1) * PIECE_BYTES;
    const asked: Record<string, number> = {};
    const fetchRange: FetchRange = async (peer, _name, start, end) => {
      asked[peer] = (asked[peer] ?? 0) + 1;
      if (peer === 'late') {
        await new Promise((r) => setTimeout(r, 300));
        return { kind: 'behind', progress: 0 };
      }
      while (available() < end) await new Promise((r) => setTimeout(r, 5));
      return { kind: 'bytes', data: Buffer.from(big.subarray(start, end)), total: big.length, progress: available() };
    };
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'big'), big);
    const bigPieces = await prefixDigestsOfFile(join(dir, 'big'), big.length, 'sha1');
    const got = await fetchFromPeers({ ...base(fetchRange, ['late', 'ahead']), pieces: bigPieces, refresh: async () => ({ peers: [] }) });
    expect(got).toMatchObject({ ok: true, bytes: big.length });
    expect(asked.ahead).toBe(count);
    // Only in the first round, before 'ahead' said how far it is.
    expect(asked.late).toBeLessThanOrEqual(2);
  });

  it('checks each piece against the known piece hashes and drops the peer that sent a bad one', async () => {
    const got = await fetchFromPeers({ ...base(peers({ a: 'bad', b: 'good' }), ['a', 'b']), pieces, refresh: async () => ({ peers: [] }) });
    expect(got).toMatchObject({ ok: true, bytes: SIZE, hashHex: sha1 });
    expect(createHash('sha1').update(await readFile(join(dir, 'dest'))).digest('hex')).toBe(sha1);
    expect(warnings.filter((w) => w.msg === 'peer dropped for this part').map((w) => w.peer)).toEqual(['a']);
  });

  it('without piece hashes yet: checks the kept pieces once they arrive and writes the bad ones over', async () => {
    const got = await fetchFromPeers({ ...base(peers({ a: 'bad', b: 'good' }), ['a', 'b']), refresh: async () => ({ peers: [], pieces }) });
    expect(got).toMatchObject({ ok: true, hashHex: sha1 });
    expect(createHash('sha1').update(await readFile(join(dir, 'dest'))).digest('hex')).toBe(sha1);
    expect(warnings.some((w) => w.peer === 'a' && /does not match its hash/.test(String(w.reason)))).toBe(true);
  });

  it('a part that comes out wrong before any digests exist waits for them, drops the bad peer and fetches its pieces again', async () => {
    let asked = 0;
    // The digests come only on the third question: after the pieces are all written.
    const refresh = async () => (++asked >= 3 ? { peers: [], pieces } : { peers: [] });
    const got = await fetchFromPeers({ ...base(peers({ a: 'bad', b: 'good' }), ['a', 'b']), partHex: sha1, refresh });
    expect(got).toMatchObject({ ok: true, hashHex: sha1 });
    expect(createHash('sha1').update(await readFile(join(dir, 'dest'))).digest('hex')).toBe(sha1);
    expect(warnings.filter((w) => w.msg === 'peer dropped for this part').map((w) => [w.peer, w.reason])).toEqual([['a', expect.stringMatching(/does not match its hash/)]]);
  });

  it('resuming before the digests are known: kept pieces are checked when they come, a bad one fetched again', async () => {
    const partial = Buffer.from(data.subarray(0, 4 * PIECE_BYTES));
    partial[2 * PIECE_BYTES + 3] = partial[2 * PIECE_BYTES + 3]! ^ 1;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'dest'), partial);
    const served: Record<string, number> = {};
    const got = await fetchFromPeers({
      ...base(peers({ b: 'good' }, served), ['b']),
      partHex: sha1,
      resume: { claimed: 4 * PIECE_BYTES, reportedTotal: SIZE },
      refresh: async () => ({ peers: [], pieces }),
    });
    expect(got).toMatchObject({ ok: true, hashHex: sha1, bytesResumed: 2 * PIECE_BYTES });
    expect(createHash('sha1').update(await readFile(join(dir, 'dest'))).digest('hex')).toBe(sha1);
    expect(served.b).toBe(6 - 4 + 2); // the two pieces after the kept ones, then kept pieces 2 and 3 again
    expect(warnings.some((w) => w.msg === 'kept pieces from an earlier attempt fetched again' && /piece 2 /.test(String(w.reason)))).toBe(true);
  });

  it('gives up when every peer is unreachable, so the caller can ask the origin', async () => {
    const got = await fetchFromPeers({ ...base(peers({ a: 'gone', b: 'gone' }), ['a', 'b']), refresh: async () => ({ peers: ['a', 'b'] }) });
    expect(got).toEqual({ ok: false, reason: 'no peer left to ask' });
  });

  it('piece digests from a host of an older version (other fields) are not used; the part still arrives whole', async () => {
    const older = { size: SIZE, pieceBytes: PIECE_BYTES, sha256: ['0'.repeat(64)] } as unknown as PieceHashes;
    const got = await fetchFromPeers({ ...base(peers({ b: 'good' }), ['b']), pieces: older, refresh: async () => ({ peers: [], pieces: older }) });
    expect(got).toMatchObject({ ok: true, hashHex: sha1 });
    expect(got.ok && got.pieces).toEqual(pieces);
  });

  it("the piece digests of a file: the part's hash over each prefix ending at a piece's end, the last one the part's own", async () => {
    expect(pieces.prefixDigests).toHaveLength(6);
    expect(pieces.prefixDigests[0]).toBe(createHash('sha1').update(data.subarray(0, PIECE_BYTES)).digest('hex'));
    expect(pieces.prefixDigests[2]).toBe(createHash('sha1').update(data.subarray(0, 3 * PIECE_BYTES)).digest('hex'));
    expect(pieces.prefixDigests[5]).toBe(sha1);
  });
});
