/**
 * Hash a file on disk in one sequential read, reporting progress. One buffer is read into again
 * and again: a read stream allocates a new one per read, and those allocations (a GiB per GiB
 * hashed) are what made V8 collect garbage most often at the end of a BitTorrent download.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ContentHash } from '../../common/image-types.js';

const READ_BYTES = 1 << 20;

export async function hashFile(
  path: string,
  algorithm: ContentHash['algorithm'],
  opts: { signal?: AbortSignal; onBytes?: (bytesDone: number) => void } = {},
): Promise<{ bytes: number; hashHex: string }> {
  const hash = createHash(algorithm);
  const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
  let bytes = 0;
  const file = await open(path, 'r');
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, READ_BYTES, bytes);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
      opts.onBytes?.(bytes);
    }
  } finally {
    await file.close();
  }
  return { bytes, hashHex: hash.digest('hex') };
}

/** Bytes of the file handed over in memory as they become final: where they begin, and the bytes. */
export type FileBytesFeed = (offer: (fileStart: number, data: Uint8Array) => void) => () => void;

/**
 * Hash a file that is still being written, as far as `has` says its bytes are final, from the start
 * on, waiting `pollMs` whenever the next bytes are not there yet; resolves once all `total` bytes
 * are hashed. A BitTorrent download that fetches in file order (a fleet's first host) is then
 * hashed while it arrives instead of read back after its last piece: that read-back came after
 * everything else and, on a host busy serving the other sites, took seconds.
 *
 * With `feed`, bytes that are offered in memory exactly where the hash has got to are hashed from
 * there, without reading them back from disk (for a torrent, each piece as it is verified: most
 * pieces of an in-order download). The disk fills the gaps the offers leave; while a read is under
 * way, offers are ignored and the read catches up.
 */
export async function hashFileAsItGrows(
  path: string,
  algorithm: ContentHash['algorithm'],
  o: {
    total: number;
    has: (start: number, end: number) => boolean;
    signal: AbortSignal;
    pollMs?: number;
    onBytes?: (bytesDone: number) => void;
    feed?: FileBytesFeed;
  },
): Promise<{ bytes: number; hashHex: string; bytesFromMemory: number }> {
  const hash = createHash(algorithm);
  const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
  let bytes = 0;
  let bytesFromMemory = 0;
  let reading = false;
  let wake: (() => void) | undefined;
  const stopFeed = o.feed?.((fileStart, data) => {
    if (reading || fileStart > bytes || fileStart + data.length <= bytes) return;
    const taken = data.subarray(bytes - fileStart, Math.min(data.length, o.total - fileStart));
    hash.update(taken);
    bytes += taken.length;
    bytesFromMemory += taken.length;
    o.onBytes?.(bytes);
    if (bytes === o.total) wake?.();
  });
  let file: FileHandle | undefined; // opened once there is something to read: the file may not exist yet
  try {
    while (bytes < o.total) {
      o.signal.throwIfAborted();
      const end = Math.min(bytes + READ_BYTES, o.total);
      if (!o.has(bytes, end)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.pollMs ?? 100);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        continue;
      }
      reading = true;
      file ??= await open(path, 'r');
      const { bytesRead } = await file.read(buffer, 0, end - bytes, bytes);
      reading = false;
      if (bytesRead === 0) throw new Error(`${path} ended after ${bytes} of ${o.total} bytes`);
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
      o.onBytes?.(bytes);
    }
  } finally {
    stopFeed?.();
    await file?.close();
  }
  return { bytes, hashHex: hash.digest('hex'), bytesFromMemory };
}
