/**
 * What O_DIRECT needs on Linux: memory, offsets and lengths aligned to the device's block. Shared by
 * the copies and the downloads that write past the page cache (docs/fleet.md, "Writes past the page
 * cache").
 */
import { constants } from 'node:fs';

/** The largest block size a Linux block device has (4Kn drives); 512-byte devices accept it too. */
export const DIRECT_ALIGN = 4096;

/** O_DIRECT where the platform has it (Linux), else undefined. */
export const O_DIRECT = constants.O_DIRECT as number | undefined;

const WASM_PAGE = 64 << 10;

interface WasmMemoryConstructor {
  new (descriptor: { initial: number }): { buffer: ArrayBuffer };
}

/**
 * The page-aligned memory of this process, one registry under a global symbol: the patched
 * torrent-piece adds its piece buffers, and the patched random-access-file writes those without a
 * copy (patches/, docs/bittorrent-cpu.md).
 */
const pageAligned = ((globalThis as unknown as Record<symbol, WeakSet<ArrayBufferLike> | undefined>)[Symbol.for('imageproxy.pageAlignedMemory')] ??=
  new WeakSet<ArrayBufferLike>());

/**
 * A buffer whose memory starts on a page: WebAssembly memory does (Node's own buffers are only
 * 16-byte aligned). `size` is rounded up to a 64 KiB multiple.
 */
export function pageAlignedBuffer(size: number): Buffer {
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly;
  const memory = new Memory({ initial: Math.ceil(size / WASM_PAGE) }).buffer;
  pageAligned.add(memory);
  return Buffer.from(memory, 0, size);
}

/** Whether `bytes` start on a block boundary in memory (a view into a `pageAlignedBuffer`). */
export function isDirectAligned(bytes: Buffer): boolean {
  return pageAligned.has(bytes.buffer) && bytes.byteOffset % DIRECT_ALIGN === 0;
}

/** Whether an open or write failed because the file system does not take O_DIRECT or its alignment. */
export function refusesDirectIo(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP';
}

const STAGING_BYTES = 1 << 20;
/** Staging buffers kept for reuse (16 MiB): fresh memory is what the kernel charges most for here. */
const STAGING_KEPT = 16;
const idleStaging: Buffer[] = [];

/** A page-aligned 1 MiB buffer, reused across writes and files. */
export function takeStaging(): Buffer {
  return idleStaging.pop() ?? pageAlignedBuffer(STAGING_BYTES);
}

export function giveBackStaging(buffer: Buffer): void {
  if (idleStaging.length < STAGING_KEPT) idleStaging.push(buffer);
}

export { STAGING_BYTES };
