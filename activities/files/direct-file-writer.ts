/**
 * Positional writes of a download into its cache file, past the page cache (O_DIRECT) where the
 * file system takes it, as ordinary writes where it does not.
 *
 * Why: a part is written once and then read by peers from the serving host's memory or by the
 * site's copy once, so caching it costs a page-cache page per 4 KiB for little gain, and on a
 * virtual machine that hands free memory back to its host (this one) a fresh page costs far more
 * than the copy into it: 2 s of CPU per GiB, against 0.2 s for pages used recently (docs/fleet.md,
 * "Writes past the page cache").
 *
 * O_DIRECT takes only aligned memory, offsets and lengths: the aligned middle of each write is
 * written directly (copied first into a reused page-aligned buffer unless its memory is one); an
 * unaligned head or tail (the end of a file, a resume at an odd offset) goes through a second,
 * ordinary handle.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DIRECT_ALIGN, O_DIRECT, STAGING_BYTES, giveBackStaging, isDirectAligned, refusesDirectIo, takeStaging } from './direct-io.js';

export interface FileWriter {
  /** Whether writes bypass the page cache (false where the file system refuses O_DIRECT). */
  readonly direct: boolean;
  /** Writes all of `data` at `position`. Writes must not overlap in time when their ranges touch one block. */
  write(data: Buffer, position: number): Promise<void>;
  close(): Promise<void>;
}

/** `create`: a new or truncated file; `update`: an existing one, written in place. */
export async function openFileWriter(path: string, how: 'create' | 'update'): Promise<FileWriter> {
  const plain = await open(path, how === 'create' ? 'w' : 'r+');
  let direct: FileHandle | undefined;
  if (O_DIRECT !== undefined && process.env.IMAGEPROXY_DIRECT_WRITES !== 'off') {
    try {
      direct = await open(path, constants.O_WRONLY | O_DIRECT);
    } catch (err) {
      if (!refusesDirectIo(err)) {
        await plain.close();
        throw err;
      }
    }
  }
  return new DirectFileWriter(plain, direct);
}

class DirectFileWriter implements FileWriter {
  constructor(
    private readonly plain: FileHandle,
    private directHandle: FileHandle | undefined,
  ) {}

  get direct(): boolean {
    return this.directHandle !== undefined;
  }

  async write(data: Buffer, position: number): Promise<void> {
    let at = 0;
    const head = Math.min(data.length, (DIRECT_ALIGN - (position % DIRECT_ALIGN)) % DIRECT_ALIGN);
    if (head > 0 && this.directHandle) {
      await writeAll(this.plain, data.subarray(0, head), position);
      at = head;
    }
    while (this.directHandle && data.length - at >= DIRECT_ALIGN) {
      const rest = data.length - at;
      const aligned = isDirectAligned(data.subarray(at));
      const n = aligned ? rest - (rest % DIRECT_ALIGN) : Math.min(STAGING_BYTES, rest - (rest % DIRECT_ALIGN));
      const staging = aligned ? undefined : takeStaging();
      try {
        if (staging) data.copy(staging, 0, at, at + n);
        await writeAll(this.directHandle, staging ? staging.subarray(0, n) : data.subarray(at, at + n), position + at);
      } catch (err) {
        if (!refusesDirectIo(err)) throw err;
        await this.stopDirect(); // e.g. a file system that opens with O_DIRECT but refuses the write
        continue;
      } finally {
        if (staging) giveBackStaging(staging);
      }
      at += n;
    }
    if (at < data.length) await writeAll(this.plain, data.subarray(at), position + at);
  }

  async close(): Promise<void> {
    try {
      await this.directHandle?.close();
    } finally {
      await this.plain.close();
    }
  }

  private async stopDirect(): Promise<void> {
    const handle = this.directHandle;
    this.directHandle = undefined;
    await handle?.close();
  }
}

async function writeAll(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
