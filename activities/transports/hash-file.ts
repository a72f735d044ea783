/** Hash a file on disk in one sequential read, reporting progress. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ContentHash } from '../../common/image-types.js';

export async function hashFile(
  path: string,
  algorithm: ContentHash['algorithm'],
  opts: { signal?: AbortSignal; onBytes?: (bytesDone: number) => void } = {},
): Promise<{ bytes: number; hashHex: string }> {
  const hash = createHash(algorithm);
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(opts.signal ? { signal: opts.signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    opts.onBytes?.(bytes);
  }
  return { bytes, hashHex: hash.digest('hex') };
}
