/**
 * A file copy past the page cache (O_DIRECT): the copy goes straight to the disk, and the source
 * is read straight from it (a part a download wrote is not in the cache either, see openSource).
 *
 * Why: a published copy is read by its consumer much later, if at all by this host, so caching it
 * only pushes out the cache files that peers are reading. And a buffered copy costs the kernel a
 * page-cache page and a memcpy per 4 KiB written, the largest single cost of a fleet's hosts
 * (docs/sites/local.md, "How the copy is made"). O_DIRECT needs the memory, offsets and lengths
 * aligned to the device's block: the buffer is WebAssembly memory (page-aligned), every write but
 * the last is a whole multiple of 4 KiB, and the tail that is not goes through a second, ordinary
 * handle.
 */
import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { DIRECT_ALIGN as ALIGN, O_DIRECT, pageAlignedBuffer, refusesDirectIo } from './direct-io.js';

const CHUNK = 4 << 20;

/**
 * Copy `from` to `to` (created or truncated, with `from`'s permission bits). Answers false, with
 * nothing left at `to`, where the file system or platform does not take O_DIRECT or its alignment:
 * the caller then copies the ordinary way. Any other error is thrown, `to` removed.
 */
export async function copyWithDirectWrites(from: string, to: string): Promise<boolean> {
  if (O_DIRECT === undefined) return false; // not Linux
  const source = await openSource(from);
  let target: FileHandle | undefined;
  let written = false;
  try {
    const mode = (await source.stat()).mode & 0o7777;
    try {
      target = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | O_DIRECT, mode);
    } catch (err) {
      if (!refusesDirectIo(err)) throw err;
      return false;
    }
    await target.chmod(mode); // the umask applied to open's mode
    const buffer = pageAlignedBuffer(CHUNK);
    for (let position = 0; ; ) {
      const { bytesRead } = await source.read(buffer, 0, CHUNK, position);
      if (bytesRead === 0) break;
      const aligned = bytesRead - (bytesRead % ALIGN);
      if (aligned > 0) {
        try {
          await writeAll(target, buffer.subarray(0, aligned), position);
        } catch (err) {
          if (position === 0 && refusesDirectIo(err)) return false;
          throw err;
        }
      }
      if (aligned < bytesRead) await writeTail(to, buffer.subarray(aligned, bytesRead), position + aligned);
      position += bytesRead;
    }
    written = true;
    return true;
  } finally {
    await source.close();
    await target?.close();
    if (target && !written) await rm(to, { force: true });
  }
}

async function writeAll(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** The last, unaligned bytes: through an ordinary handle, which O_DIRECT's rules do not bind. */
async function writeTail(path: string, bytes: Buffer, position: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await writeAll(file, bytes, position);
  } finally {
    await file.close();
  }
}

/**
 * The source, read past the page cache too where the file system allows: a part written by a
 * download is not in the page cache (docs/fleet.md, "Writes past the page cache"), and reading it
 * through the cache would cost a fresh page per 4 KiB for bytes read once.
 */
async function openSource(path: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_RDONLY | O_DIRECT!);
  } catch (err) {
    if (!refusesDirectIo(err)) throw err;
    return open(path, 'r');
  }
}
