/**
 * Pure rules of ZFILESYSTEM content: which compression the first bytes say (never the name), whether
 * a block is a tar header, and what a tar member name means.
 */
import { posix } from 'node:path';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'lzma';

/** The compression the first bytes of a file say, or undefined when they match none we unpack. */
export function sniffCompression(head: Uint8Array): Compression | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) return 'gzip';
  // "BZh" then the block size digit 1-9.
  if (b.length >= 4 && b.toString('latin1', 0, 3) === 'BZh' && b[3]! >= 0x31 && b[3]! <= 0x39) return 'bzip2';
  if (b.length >= 6 && b.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  // The legacy .lzma ("LZMA alone") header: properties byte 0x5d and a 2^n dictionary size.
  if (b.length >= 13 && b[0] === 0x5d && b[1] === 0x00 && b[2] === 0x00 && (b[4]! & 0xff) <= 0x40) return 'lzma';
  return undefined;
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Name a format we recognise but do not unpack, for a clearer error. */
export function unsupportedFormatOf(head: Uint8Array): string | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 4 && b.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  if (b.length >= 4 && b.toString('latin1', 0, 4) === 'PK\x03\x04') return 'zip';
  if (isTarHeader(b)) return 'an uncompressed tar';
  return undefined;
}

/** Whether `block` (the first 512 bytes of a stream) is a POSIX/GNU tar header: `ustar` at offset 257. */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 263) return false;
  return Buffer.from(block.buffer, block.byteOffset, 263).toString('latin1', 257, 262) === 'ustar';
}

export type MemberRole = 'filesystem' | 'other' | 'escapes';

/**
 * What a tar member name is to us: the image (`filesystem`, `./filesystem`), something else, or a
 * name that points outside the archive (absolute, or `..` after normalising), which taints the
 * whole archive.
 */
export function memberRole(name: string): MemberRole {
  if (name.startsWith('/') || name.includes('\0')) return 'escapes';
  const normal = posix.normalize(name);
  if (normal === '..' || normal.startsWith('../')) return 'escapes';
  return normal === 'filesystem' ? 'filesystem' : 'other';
}
