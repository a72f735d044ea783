import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

type WriteStreamOptions = Parameters<typeof createWriteStream>[1];

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

/** Run `write` with a write stream to `path`; if it fails, the failure surfaces only after the file is closed. */
export async function writeToFile<T>(path: string, options: WriteStreamOptions, write: (file: WriteStream) => Promise<T>): Promise<T> {
  const file = createWriteStream(path, options);
  return writeThrough(file, () => write(file));
}

/** Run `write`, which writes into `file`; if it fails, the failure surfaces only after `file` is closed. */
export async function writeThrough<T>(file: Writable, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    await fileClosed(file);
    throw err;
  }
}
