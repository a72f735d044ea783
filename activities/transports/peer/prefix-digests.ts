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
  const prefixDigests: string[] = [];
  const running = createHash(algorithm);
  let inPiece = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    let buf = chunk as Buffer;
    while (buf.length > 0) {
      const take = Math.min(buf.length, pieceBytes - inPiece);
      running.update(buf.subarray(0, take));
      inPiece += take;
      buf = buf.subarray(take);
      if (inPiece === pieceBytes) {
        prefixDigests.push(running.copy().digest('hex'));
        inPiece = 0;
      }
    }
  }
  if (inPiece > 0) prefixDigests.push(running.copy().digest('hex'));
  return { size, pieceBytes, algorithm, prefixDigests };
}

/** Whether `pieces` can check a part of this algorithm (a report from an older host carries other fields). */
export function usablePieceHashes(pieces: PieceHashes | undefined, algorithm: PieceHashes['algorithm']): pieces is PieceHashes {
  return !!pieces && pieces.algorithm === algorithm && Array.isArray(pieces.prefixDigests) && pieces.prefixDigests.length === Math.ceil(pieces.size / pieces.pieceBytes);
}
