/**
 * Fetch one part from the peers of a distribution into a file, front to back, a piece at a time
 * from several peers at once, every piece checked. The piece hashes come from the distribution
 * (the first host whose copy matched the part's signature reported them, see fleet-contract.ts);
 * while they are not known yet (every source is still downloading), each piece's hash is kept
 * with the peer that sent it and checked once they are, and a piece found bad then is fetched
 * again and written over. A peer that sends a bad piece, cannot be reached or breaks the wire is
 * dropped for this part (and the log says why). The caller checks the part's signature at the end.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { PartSources, PieceHashes } from '../../../common/fleet-contract.js';
import { PIECE_BYTES } from '../../../common/fleet-contract.js';
import type { ContentHash } from '../../../common/image-types.js';
import type { TransferProgress } from '../transport.js';
import type { FetchRange } from './peer-client.js';
import { pieceCount, pieceSpan } from './peer-wire.js';

/** Pieces asked for at once (over all peers). */
const LANES = 4;
/** Pieces kept in memory ahead of the first one not yet written (bounds memory at 16 MiB). */
const MAX_AHEAD = 16;
const REFRESH_MS = 2000;
/** A peer without the bytes yet is asked again after this. */
const BEHIND_BACKOFF_MS = 300;

export interface FetchFromPeersOptions {
  /** The part's cache name (what the peers are asked for). */
  name: string;
  destPath: string;
  hashAlgorithm: ContentHash['algorithm'];
  peers: readonly string[];
  pieces?: PieceHashes;
  /** The distribution's current sources of the part (new peers, and the piece hashes once known). */
  refresh: () => Promise<PartSources | undefined>;
  fetchRange: FetchRange;
  stallTimeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  logger: Logger;
}

export type FetchFromPeersResult =
  | { ok: true; bytes: number; hashHex: string; pieces: PieceHashes }
  | { ok: false; reason: string };

interface PeerState {
  inflight: number;
  behindUntil: number;
  /** The most it said it had while behind: growth means it is still downloading, not stalled. */
  progress: number;
  /** Bytes it is known to have (from what it sent and what it said): asked first for pieces below. */
  has: number;
  dropped?: string;
}

export async function fetchFromPeers(o: FetchFromPeersOptions): Promise<FetchFromPeersResult> {
  const peers = new Map<string, PeerState>();
  const addPeers = (list: readonly string[]): void => {
    for (const p of list) if (!peers.has(p)) peers.set(p, { inflight: 0, behindUntil: 0, progress: -1, has: 0 });
  };
  addPeers(o.peers);
  const pieceBytes = o.pieces?.pieceBytes ?? PIECE_BYTES;
  let trusted = o.pieces;
  let size = trusted?.size;
  /** Hash and sender of each piece received and kept. */
  const received = new Map<number, { sha256: string; peer: string }>();
  const buffered = new Map<number, Buffer>();
  const queue: number[] = [];
  let nextNew = 0;
  let written = 0;
  let rewritten = false;
  let failure: string | undefined;
  let lastLifeAt = Date.now();
  const whole = createHash(o.hashAlgorithm);
  const file = await open(o.destPath, 'w');
  let writes: Promise<unknown> = Promise.resolve();

  const drop = (peer: string, reason: string): void => {
    const state = peers.get(peer);
    if (!state || state.dropped) return;
    state.dropped = reason;
    o.logger.warn({ peer, part: o.name, reason }, 'peer dropped for this part');
  };
  const total = (): number | undefined => (size === undefined ? undefined : pieceCount(size, pieceBytes));
  const finished = (): boolean => size !== undefined && written === total() && queue.length === 0 && buffered.size === 0;

  const applyTrusted = (t: PieceHashes): void => {
    trusted = t;
    size ??= t.size;
    for (const [index, got] of received) {
      if (t.sha256[index] === got.sha256) continue;
      drop(got.peer, `piece ${index} does not match its hash`);
      received.delete(index);
      buffered.delete(index);
      if (index < written) rewritten = true;
      queue.unshift(index);
    }
  };

  const takePiece = (): number | undefined => {
    if (queue.length > 0) return queue.shift();
    const count = total();
    if (count === undefined) return nextNew === 0 ? nextNew++ : undefined; // learn the size first
    return nextNew < count && nextNew < written + MAX_AHEAD ? nextNew++ : undefined;
  };

  /**
   * The least busy peer known to have bytes up to `end`; else the one furthest along (the least
   * busy on a tie). A peer that is behind holds the
   * request until its own download gets there, so asking the furthest one keeps the hosts from
   * waiting on each other in a chain.
   */
  const pickPeer = (end: number): string | 'wait' | undefined => {
    const alive = [...peers].filter(([, s]) => !s.dropped);
    if (alive.length === 0) return undefined;
    const now = Date.now();
    const ready = alive.filter(([, s]) => s.behindUntil <= now);
    if (ready.length === 0) return 'wait';
    const having = ready.filter(([, s]) => s.has >= end);
    if (having.length > 0) return having.reduce((a, b) => (b[1].inflight < a[1].inflight ? b : a))[0];
    return ready.reduce((a, b) => (b[1].has > a[1].has || (b[1].has === a[1].has && b[1].inflight < a[1].inflight) ? b : a))[0];
  };

  const store = (index: number, data: Buffer): Promise<unknown> => {
    writes = writes.then(async () => {
      if (index < written) {
        await file.write(data, 0, data.length, index * pieceBytes); // a repaired piece
        return;
      }
      buffered.set(index, data);
      for (let next = buffered.get(written); next; next = buffered.get(written)) {
        await file.write(next, 0, next.length, written * pieceBytes);
        if (!rewritten) whole.update(next);
        buffered.delete(written);
        written++;
      }
      o.onProgress?.({ bytesDone: Math.min(written * pieceBytes, size ?? 0), ...(size !== undefined ? { bytesTotal: size } : {}) });
    });
    return writes;
  };

  const lane = async (): Promise<void> => {
    while (!failure && !o.signal?.aborted && !finished()) {
      if (Date.now() - lastLifeAt > o.stallTimeoutMs) {
        failure = `no piece from any peer, and no peer got further, for ${o.stallTimeoutMs} ms`;
        return;
      }
      const index = takePiece();
      if (index === undefined) {
        await sleep(50);
        continue;
      }
      const span = size === undefined ? { start: 0, end: pieceBytes } : pieceSpan(index, pieceBytes, size);
      const peer = pickPeer(span.end);
      if (peer === undefined) {
        failure = 'no peer left to ask';
        queue.unshift(index);
        return;
      }
      if (peer === 'wait') {
        queue.unshift(index);
        await sleep(BEHIND_BACKOFF_MS);
        continue;
      }
      const state = peers.get(peer)!;
      state.inflight++;
      const answer = await o.fetchRange(peer, o.name, span.start, span.end, o.signal);
      state.inflight--;
      if (answer.kind !== 'bytes') {
        queue.unshift(index);
        if (answer.kind === 'failed') drop(peer, answer.reason);
        else {
          state.behindUntil = Date.now() + BEHIND_BACKOFF_MS;
          if (answer.progress !== undefined && answer.progress > state.progress) {
            if (state.progress >= 0) lastLifeAt = Date.now();
            state.progress = answer.progress;
            state.has = Math.max(state.has, answer.progress);
          }
        }
        continue;
      }
      if (size !== undefined && answer.total !== size) {
        queue.unshift(index);
        drop(peer, `says the part has ${answer.total} bytes, not ${size}`);
        continue;
      }
      size ??= answer.total;
      state.has = Math.max(state.has, span.start + answer.data.length, answer.progress ?? 0);
      const sha256 = createHash('sha256').update(answer.data).digest('hex');
      if (trusted && trusted.sha256[index] !== sha256) {
        queue.unshift(index);
        drop(peer, `piece ${index} does not match its hash`);
        continue;
      }
      received.set(index, { sha256, peer });
      lastLifeAt = Date.now();
      await store(index, answer.data);
    }
  };

  const refresh = async (): Promise<void> => {
    const sources = await o.refresh().catch(() => undefined);
    if (!sources) return;
    addPeers(sources.peers);
    if (sources.pieces && !trusted) applyTrusted(sources.pieces);
  };
  const refresher = setInterval(() => void refresh(), REFRESH_MS);
  try {
    for (;;) {
      await Promise.all(Array.from({ length: LANES }, lane));
      await writes;
      if (failure || o.signal?.aborted) break;
      if (trusted) break;
      await refresh(); // the hashes may exist by now: check every piece before answering
      if (queue.length === 0) break;
    }
  } finally {
    clearInterval(refresher);
    await writes.catch(() => undefined);
    await file.close();
  }
  if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted');
  if (failure) return { ok: false, reason: failure };
  const bytes = size ?? 0;
  const hashHex = rewritten ? await hashFile(o.destPath, o.hashAlgorithm) : whole.digest('hex');
  const pieces = trusted ?? { size: bytes, pieceBytes, sha256: Array.from({ length: total() ?? 0 }, (_, i) => received.get(i)!.sha256) };
  return { ok: true, bytes, hashHex, pieces };
}

/** SHA-256 of every piece of a file (the piece hashes of a part fetched from the origin). */
export async function hashPieces(path: string, size: number): Promise<PieceHashes> {
  const sha256: string[] = [];
  let piece = createHash('sha256');
  let inPiece = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    let buf = chunk as Buffer;
    while (buf.length > 0) {
      const take = Math.min(buf.length, PIECE_BYTES - inPiece);
      piece.update(buf.subarray(0, take));
      inPiece += take;
      buf = buf.subarray(take);
      if (inPiece === PIECE_BYTES) {
        sha256.push(piece.digest('hex'));
        piece = createHash('sha256');
        inPiece = 0;
      }
    }
  }
  if (inPiece > 0) sha256.push(piece.digest('hex'));
  return { size, pieceBytes: PIECE_BYTES, sha256 };
}

async function hashFile(path: string, algorithm: ContentHash['algorithm']): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
