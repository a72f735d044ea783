/**
 * Hash a file on disk in one sequential read, reporting progress. One buffer is read into again
 * and again: a read stream allocates a new one per read, and those allocations (a GiB per GiB
 * hashed) are what made V8 collect garbage most often at the end of a BitTorrent download.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
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
