/**
 * The peer wire, pure parts: `GET /v1/parts/<cache name>` with `Range: bytes=A-B` and
 * `Authorization: Bearer <token>`; the answer is 206 with `Content-Range: bytes A-B/TOTAL`.
 */
import type { ContentHash } from '../../../common/image-types.js';

export const PART_PATH_PREFIX = '/v1/parts/';

/** The content hash a cache name stands for (`<sha1 hex>` or `<algorithm>-<hex>`), or undefined. */
export function hashOfName(name: string): ContentHash | undefined {
  const m = /^(?:(sha256|sha512)-)?([0-9a-f]{40,128})$/.exec(name);
  if (!m) return undefined;
  const algorithm = (m[1] ?? 'sha1') as ContentHash['algorithm'];
  const hexLength = { sha1: 40, sha256: 64, sha512: 128 }[algorithm];
  return m[2]!.length === hexLength ? { algorithm, hex: m[2]! } : undefined;
}

/** `bytes=A-B` → [A, B] (inclusive), or undefined for any other form. */
export function parseRange(header: string | undefined): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) && start <= end ? [start, end] : undefined;
}

/** `bytes A-B/TOTAL` → its numbers, or undefined. */
export function parseContentRange(header: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : undefined;
}

/** Piece `index` of a part of `size` bytes: its first byte and its end (exclusive). */
export function pieceSpan(index: number, pieceBytes: number, size: number): { start: number; end: number } {
  const start = index * pieceBytes;
  return { start, end: Math.min(size, start + pieceBytes) };
}

export function pieceCount(size: number, pieceBytes: number): number {
  return Math.ceil(size / pieceBytes);
}
