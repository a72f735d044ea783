/**
 * Prefix digests (see PieceHashes in common/fleet-contract.ts): the running hash of a part,
 * finished on a copy at every piece boundary.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PIECE_BYTES, type PieceHashes } from '../../../common/fleet-contract.js';

/** The running hash after `data` is added, and the digest of everything so far; `running` is left as it was. */
export function extendPrefix(running: Hash, data: Buffer): { next: Hash; digest: string } {
  const next = running.copy();
  next.update(data);
  return { next, digest: next.copy().digest('hex') };
}

/** The prefix digests of a file of `size` bytes, in one read. */
export async function prefixDigestsOfFile(path: string, size: number, algorithm: PieceHashes['algorithm'], pieceBytes = PIECE_BYTES): Promise<PieceHashes> {
  const { prefixDigests } = await hashPiecesOfFile(path, { bytes: size, algorithm, pieceBytes });
  return { size, pieceBytes, algorithm, prefixDigests };
}

export interface PiecesOfFileOptions {
  /** Bytes to read from the file's start (less if the file is shorter). */
  bytes: number;
  algorithm: PieceHashes['algorithm'];
  pieceBytes: number;
  /** Whether the piece `index` whose prefix digest is `digest` is good: the read stops before the first that is not. */
  accept?: (index: number, digest: string) => boolean;
}

/**
 * The running hash of a file's first pieces and their prefix digests, in one read (a resumed fetch
 * continues with the hash where the kept pieces end). With `accept`, only the pieces before the
 * first one it refuses count; `running` is then the hash after those.
 */
export async function hashPiecesOfFile(path: string, o: PiecesOfFileOptions): Promise<{ running: Hash; prefixDigests: string[] }> {
  const prefixDigests: string[] = [];
  let running = createHash(o.algorithm);
  if (o.bytes <= 0) return { running, prefixDigests };
  let atBoundary = o.accept ? running.copy() : running;
  let inPiece = 0;
  const finishPiece = (): boolean => {
    const digest = running.copy().digest('hex');
    if (o.accept && !o.accept(prefixDigests.length, digest)) {
      running = atBoundary;
      return false;
    }
    prefixDigests.push(digest);
    if (o.accept) atBoundary = running.copy();
    inPiece = 0;
    return true;
  };
  for await (const chunk of createReadStream(path, { start: 0, end: o.bytes - 1, highWaterMark: 1 << 20 })) {
    let buf = chunk as Buffer;
    while (buf.length > 0) {
      const take = Math.min(buf.length, o.pieceBytes - inPiece);
      running.update(buf.subarray(0, take));
      inPiece += take;
      buf = buf.subarray(take);
      if (inPiece === o.pieceBytes && !finishPiece()) return { running, prefixDigests };
    }
  }
  if (inPiece > 0) finishPiece();
  return { running, prefixDigests };
}

/** Whether `pieces` can check a part of this algorithm (a report from an older host carries other fields). */
export function usablePieceHashes(pieces: PieceHashes | undefined, algorithm: PieceHashes['algorithm']): pieces is PieceHashes {
  return !!pieces && pieces.algorithm === algorithm && Array.isArray(pieces.prefixDigests) && pieces.prefixDigests.length === Math.ceil(pieces.size / pieces.pieceBytes);
}
