// The part of lzma-native (no bundled types) that unpacking uses.
declare module 'lzma-native' {
  import type { Transform } from 'node:stream';
  /** A stream that decodes .xz and legacy .lzma (liblzma's auto decoder). */
  export function createDecompressor(options?: { synchronous?: boolean; threads?: number }): Transform;
  export function createCompressor(options?: { preset?: number; threads?: number }): Transform;
}
