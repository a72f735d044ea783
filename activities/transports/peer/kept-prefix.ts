/**
 * Resuming a fetch from peers: which bytes of the partial file an earlier attempt wrote front to
 * back, and keeping them. The kept pieces are re-hashed once from disk (Node cannot save a hash's
 * state), checked against the trusted prefix digests when known, and the file is cut after the
 * last good piece, so what stays is either checked or still to be checked at the end (the part's
 * signature). Handing such a file to the origin transport: origin-handover.ts.
 */
import type { Hash } from 'node:crypto';
import { stat, truncate } from 'node:fs/promises';
import type { PieceHashes } from '../../../common/fleet-contract.js';
import { parseHttpResumeState } from '../http-resume-point.js';
import type { TransferProgress } from '../transport.js';
import { pieceCount } from './peer-wire.js';
import { hashPiecesOfFile } from './prefix-digests.js';

/** The resume token the peer path reports: its `bytesDone` are whole pieces written in file order. */
export const PEER_RESUME_TOKEN = '{"writer":"peer"}';

/**
 * Bytes at the start of the file the earlier attempt says it wrote in file order: the peer path
 * (its token) and the HTTP transport (its validator token) write front to back. Anything else
 * keeps nothing: BitTorrent writes out of order (and elsewhere until it is done), and progress
 * without a token does not say who wrote.
 */
export function prefixWrittenInOrder(last: TransferProgress | undefined): number {
  if (!last || !(last.bytesDone > 0)) return 0;
  const inOrder = last.resumeToken === PEER_RESUME_TOKEN || parseHttpResumeState(last.resumeToken) !== undefined;
  return inOrder ? last.bytesDone : 0;
}

/** Whether the earlier attempt's file was written by the peer path (its bytes are checked only by the digests). */
export function writtenByPeers(last: TransferProgress | undefined): boolean {
  return last?.resumeToken === PEER_RESUME_TOKEN;
}

export interface KeepOptions {
  /** Bytes at the file's start that are the part's, as far as the earlier attempt knows (and the file holds). */
  bytes: number;
  pieceBytes: number;
  /** The part's size, when the trusted digests give it. */
  size?: number;
  /** The size the earlier attempt reported (a peer's or the origin's word). */
  reportedTotal?: number;
}

/**
 * Whole pieces to keep. With the size unknown, at least the last piece is left to fetch: the
 * first answer of a peer tells the size.
 */
export function piecesToKeep(o: KeepOptions): number {
  if (o.size !== undefined) return o.bytes >= o.size ? pieceCount(o.size, o.pieceBytes) : Math.floor(o.bytes / o.pieceBytes);
  if (o.reportedTotal !== undefined && o.bytes < o.reportedTotal) return Math.floor(o.bytes / o.pieceBytes);
  const known = Math.min(o.bytes, o.reportedTotal ?? o.bytes);
  return known > 0 ? Math.floor((known - 1) / o.pieceBytes) : 0;
}

export interface KeptPrefix {
  pieces: number;
  bytes: number;
  /** The part's hash over the kept bytes (to continue with). */
  running: Hash;
  prefixDigests: string[];
  /** Pieces the file had that did not match the trusted digests (dropped, with all after them). */
  badPiece?: number;
}

export interface ReadKeptOptions {
  /** What the earlier attempt claimed it wrote in order (prefixWrittenInOrder). */
  claimed: number;
  reportedTotal?: number;
  pieceBytes: number;
  algorithm: PieceHashes['algorithm'];
  trusted?: PieceHashes;
}

/** The pieces of `path` to keep: read and hashed once, checked when `trusted`; the file is cut after them. */
export async function readKeptPrefix(path: string, o: ReadKeptOptions): Promise<KeptPrefix> {
  const onDisk = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  const size = o.trusted?.size;
  const keep = piecesToKeep({
    bytes: Math.min(o.claimed, onDisk),
    pieceBytes: o.pieceBytes,
    ...(size !== undefined ? { size } : {}),
    ...(o.reportedTotal !== undefined ? { reportedTotal: o.reportedTotal } : {}),
  });
  const bytesOf = (pieces: number): number => Math.min(pieces * o.pieceBytes, size ?? Infinity);
  const trusted = o.trusted;
  const { running, prefixDigests } = await hashPiecesOfFile(path, {
    bytes: bytesOf(keep),
    algorithm: o.algorithm,
    pieceBytes: o.pieceBytes,
    ...(trusted ? { accept: (i: number, digest: string) => trusted.prefixDigests[i] === digest } : {}),
  });
  const pieces = prefixDigests.length;
  if (onDisk > 0) await truncate(path, bytesOf(pieces));
  return { pieces, bytes: bytesOf(pieces), running, prefixDigests, ...(pieces < keep ? { badPiece: pieces } : {}) };
}
