/**
 * Fetch one part from the peers of a distribution into a file, front to back, a piece at a time
 * from several peers at once, every piece checked. The check is one hash pass: the part's own hash
 * runs over the pieces in order, and at each piece's end its digest so far must equal the prefix
 * digest the distribution gives (from the first host whose copy matched the part's signature, see
 * fleet-contract.ts). A piece that fails is not written; its peer is dropped for this part (and the
 * log says why). While the digests are not known yet (every source is still downloading), the
 * pieces are written and their digests kept; once they are known, the first bad piece names its
 * sender, whose pieces from there on are fetched again from others and the file hashed again.
 * The caller checks the part's signature at the end (the last digest).
 *
 * Resume (kept-prefix.ts): the whole pieces an earlier attempt wrote in order are kept, re-hashed
 * once from disk and checked like received ones; pieces kept but not checked yet (no digests)
 * count as sent by KEPT, so a late check fetches them again like a bad peer's, and without any
 * digests a wrong final hash has them fetched again once.
 */
import { createHash } from 'node:crypto';
import { openFileWriter } from '../../files/direct-file-writer.js';
import type { Logger } from 'pino';
import type { PartSources, PieceHashes } from '../../../common/fleet-contract.js';
import { PIECE_BYTES } from '../../../common/fleet-contract.js';
import type { ContentHash } from '../../../common/image-types.js';
import type { TransferProgress } from '../transport.js';
import type { FetchRange } from './peer-client.js';
import { PEER_RESUME_TOKEN, readKeptPrefix } from './kept-prefix.js';
import { pieceCount, pieceSpan } from './peer-wire.js';
import { extendPrefix, prefixDigestsOfFile, usablePieceHashes } from './prefix-digests.js';

/** Pieces asked for at once (over all peers). */
const LANES = 4;
/** Pieces kept in memory ahead of the first one not yet written (bounds memory at 16 MiB). */
const MAX_AHEAD = 16;
/** How often a fetch asks the distribution for new peers and the digests (a query: no history, but a workflow task). */
const REFRESH_MS = 5000;
/** How often a fetch whose part came out wrong, with no digests known yet, asks for them. */
const DIGESTS_POLL_MS = 500;
/** A peer without the bytes yet is asked again after this. */
const BEHIND_BACKOFF_MS = 300;
/** The sender of the pieces kept from an earlier attempt (not a peer address). */
const KEPT = 'kept from an earlier attempt';

export interface FetchFromPeersOptions {
  /** The part's cache name (what the peers are asked for). */
  name: string;
  destPath: string;
  hashAlgorithm: ContentHash['algorithm'];
  peers: readonly string[];
  pieces?: PieceHashes;
  /** The part's own digest (its signature): piece digests that do not end in it are not used. */
  partHex?: string;
  /** Continue what an earlier attempt wrote in order to `destPath` (kept-prefix.ts: prefixWrittenInOrder). */
  resume?: { claimed: number; reportedTotal?: number };
  /** The distribution's current sources of the part (new peers, and the piece hashes once known). */
  refresh: () => Promise<PartSources | undefined>;
  fetchRange: FetchRange;
  stallTimeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  logger: Logger;
}

export type FetchFromPeersResult =
  | { ok: true; bytes: number; hashHex: string; pieces: PieceHashes; bytesResumed: number }
  /** `trusted`: the digests known by then (the file's pieces that match them may be kept). */
  | { ok: false; reason: string; trusted?: PieceHashes };

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
  const usable = (t: PieceHashes | undefined): t is PieceHashes =>
    usablePieceHashes(t, o.hashAlgorithm) && (o.partHex === undefined || t.prefixDigests.at(-1) === o.partHex);
  let trusted = usable(o.pieces) ? o.pieces : undefined;
  const pieceBytes = trusted?.pieceBytes ?? PIECE_BYTES;
  let size = trusted?.size;
  const buffered = new Map<number, { data: Buffer; peer: string }>();
  const kept = o.resume?.claimed
    ? await readKeptPrefix(o.destPath, { ...o.resume, pieceBytes, algorithm: o.hashAlgorithm, ...(trusted ? { trusted } : {}) })
    : undefined;
  if (kept?.badPiece !== undefined) o.logger.warn({ part: o.name, piece: kept.badPiece }, 'kept pieces from an earlier attempt do not match their hashes: fetched again from the first bad one');
  /** The prefix digest and the sender of each piece written, in order. */
  let digests: string[] = kept?.prefixDigests ?? [];
  const senders: string[] = digests.map(() => KEPT);
  let running = kept?.running ?? createHash(o.hashAlgorithm);
  const queue: number[] = [];
  /** The first piece to fetch (while the size is unknown, the only one asked for). */
  const firstPiece = kept?.pieces ?? 0;
  let nextNew = firstPiece;
  let written = firstPiece;
  /** Pieces written over after a late check: the digests are then taken from the file again. */
  let repaired = false;
  let failure: string | undefined;
  let lastLifeAt = Date.now();
  const file = await openFileWriter(o.destPath, firstPiece > 0 ? 'update' : 'create');
  let writes: Promise<unknown> = Promise.resolve();

  const drop = (peer: string, reason: string): void => {
    const state = peers.get(peer);
    if (peer === KEPT) o.logger.warn({ part: o.name, reason }, 'kept pieces from an earlier attempt fetched again');
    if (!state || state.dropped) return;
    state.dropped = reason;
    o.logger.warn({ peer, part: o.name, reason }, 'peer dropped for this part');
  };
  const total = (): number | undefined => (size === undefined ? undefined : pieceCount(size, pieceBytes));
  const finished = (): boolean => size !== undefined && written === total() && queue.length === 0 && buffered.size === 0;

  const applyTrusted = (t: PieceHashes | undefined): void => {
    if (!usable(t) || t.pieceBytes !== pieceBytes || (size !== undefined && t.size !== size)) return;
    trusted = t;
    size ??= t.size;
  };

  const takePiece = (): number | undefined => {
    if (queue.length > 0) return queue.shift();
    const count = total();
    if (count === undefined) return nextNew === firstPiece ? nextNew++ : undefined; // learn the size first
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

  /** Writes the pieces that are next in order, each checked first when the digests are known. */
  const store = (index: number, data: Buffer, peer: string): Promise<unknown> => {
    writes = writes.then(async () => {
      if (index < written) {
        await file.write(data, index * pieceBytes); // a piece fetched again after a late check
        senders[index] = peer;
        repaired = true;
        return;
      }
      buffered.set(index, { data, peer });
      for (let next = buffered.get(written); next; next = buffered.get(written)) {
        buffered.delete(written);
        const { next: after, digest } = extendPrefix(running, next.data);
        if (trusted && trusted.prefixDigests[written] !== digest) {
          drop(next.peer, `piece ${written} does not match its hash`);
          queue.unshift(written);
          break;
        }
        await file.write(next.data, written * pieceBytes);
        running = after;
        digests[written] = digest;
        senders[written] = next.peer;
        written++;
      }
      report();
    });
    return writes;
  };
  const report = (): void =>
    o.onProgress?.({
      bytesDone: Math.min(written * pieceBytes, size ?? Infinity),
      ...(size !== undefined ? { bytesTotal: size } : {}),
      resumeToken: PEER_RESUME_TOKEN,
    });
  if (firstPiece > 0) {
    o.logger.info({ part: o.name, pieces: firstPiece, checked: trusted !== undefined }, 'resuming from the pieces kept by an earlier attempt');
    report();
  }

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
      const span = size === undefined ? { start: index * pieceBytes, end: (index + 1) * pieceBytes } : pieceSpan(index, pieceBytes, size);
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
      lastLifeAt = Date.now();
      await store(index, answer.data, peer);
    }
  };

  const refresh = async (): Promise<void> => {
    const sources = await o.refresh().catch(() => undefined);
    if (!sources) return;
    addPeers(sources.peers);
    if (!trusted) applyTrusted(sources.pieces);
  };
  /** The part came out wrong before any host had checked its copy: wait (bounded) for the digests
   * that name the bad piece and its sender, rather than take the whole part from the origin. */
  const waitForDigests = async (): Promise<void> => {
    o.logger.info({ part: o.name }, 'the part came out wrong before its piece digests were known: waiting for them');
    const deadline = Date.now() + o.stallTimeoutMs;
    while (!trusted && !o.signal?.aborted && Date.now() < deadline) {
      await sleep(DIGESTS_POLL_MS);
      await refresh();
    }
  };
  const refresher = setInterval(() => void refresh(), REFRESH_MS);
  try {
    for (;;) {
      await Promise.all(Array.from({ length: LANES }, lane));
      await writes;
      if (failure || o.signal?.aborted) break;
      if (!trusted) await refresh(); // the digests may exist by now: check the pieces before answering
      if (!trusted && o.partHex !== undefined && digests.at(-1) !== o.partHex && !senders.includes(KEPT)) await waitForDigests();
      if (repaired) {
        digests = (await prefixDigestsOfFile(o.destPath, size ?? 0, o.hashAlgorithm, pieceBytes)).prefixDigests;
        repaired = false;
      }
      if (!trusted) {
        // None yet: the caller checks the signature (the last digest). Kept pieces are the suspects of a wrong one.
        if (o.partHex === undefined || digests.at(-1) === o.partHex || !senders.includes(KEPT)) break;
        drop(KEPT, `the part's ${o.hashAlgorithm} is wrong, no piece digests known`);
        for (let i = 0; i < written; i++) if (senders[i] === KEPT) queue.push(i);
        continue;
      }
      const bad = digests.findIndex((d, i) => d !== trusted!.prefixDigests[i]);
      if (bad < 0) break;
      // Written before the digests were known: its sender's pieces from there on are fetched again.
      const culprit = senders[bad]!;
      drop(culprit, `piece ${bad} does not match its hash`);
      for (let i = bad; i < written; i++) if (senders[i] === culprit) queue.push(i);
    }
  } finally {
    clearInterval(refresher);
    await writes.catch(() => undefined);
    await file.close();
  }
  if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted');
  if (failure) return { ok: false, reason: failure, ...(trusted ? { trusted } : {}) };
  const bytes = size ?? 0;
  const hashHex = digests.at(-1) ?? createHash(o.hashAlgorithm).digest('hex');
  const bytesResumed = senders.reduce((sum, s, i) => (s === KEPT ? sum + pieceSpan(i, pieceBytes, bytes).end - i * pieceBytes : sum), 0);
  const pieces = trusted ?? { size: bytes, pieceBytes, algorithm: o.hashAlgorithm, prefixDigests: digests };
  return { ok: true, bytes, hashHex, pieces, bytesResumed };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
