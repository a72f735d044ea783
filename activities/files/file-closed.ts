import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { GatheringWriteStream } from './gathering-write-stream.js';

/**
 * Resolves once `file` has closed its descriptor. `pipeline` rejects as soon as any stream fails,
 * while a write (or even the open) of the file may still be in flight; waiting for `close` means
 * that after a failure the file on disk no longer changes, so a caller may measure it, resume
 * from it or remove it without a late write growing or re-creating it.
 */
export async function fileClosed(file: Writable): Promise<void> {
  if (file.closed) return;
  if (!file.destroyed && !file.writableFinished) file.destroy();
  await once(file, 'close');
}

/**
 * Run `write` with a stream into `path` from byte `start` (0: a new file), written past the page
 * cache (GatheringWriteStream); if it fails, the failure surfaces only after the file is closed.
 */
export async function writeToFile<T>(path: string, start: number, write: (file: Writable) => Promise<T>): Promise<T> {
  const file = await GatheringWriteStream.open(path, start);
  try {
    return await write(file);
  } catch (err) {
    await fileClosed(file);
    throw err;
  }
}
