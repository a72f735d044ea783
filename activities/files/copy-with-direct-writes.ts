/**
 * A file copy whose writes bypass the page cache (O_DIRECT): the source is read through the cache
 * (a part just verified is usually still there), the copy goes straight to the disk.
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

const CHUNK = 4 << 20;
const WASM_PAGE = 64 << 10;
/** The largest block size a Linux block device has (4Kn drives); 512-byte devices accept it too. */
const ALIGN = 4096;

/**
 * Copy `from` to `to` (created or truncated, with `from`'s permission bits). Answers false, with
 * nothing left at `to`, where the file system or platform does not take O_DIRECT or its alignment:
 * the caller then copies the ordinary way. Any other error is thrown, `to` removed.
 */
export async function copyWithDirectWrites(from: string, to: string): Promise<boolean> {
  const O_DIRECT = constants.O_DIRECT as number | undefined;
  if (O_DIRECT === undefined) return false; // not Linux
  const source = await open(from, 'r');
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

interface WasmMemoryConstructor {
  new (descriptor: { initial: number }): { buffer: ArrayBuffer };
}

/** WebAssembly memory starts on a page; Node has it, the ES2022 lib we compile against does not say so. */
function pageAlignedBuffer(size: number): Buffer {
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly;
  return Buffer.from(new Memory({ initial: size / WASM_PAGE }).buffer);
}

function refusesDirectIo(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP';
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
