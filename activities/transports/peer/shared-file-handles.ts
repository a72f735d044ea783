/**
 * Open files shared by the peer endpoint's requests: the hosts of a distribution ask for one part
 * thousands of times, and an open, a stat and a close per request cost the serving host more than
 * the read. A file is closed once no request has used it for a while. Cache files never change
 * once verified, and a growing file only grows, so a shared handle reads the same bytes a fresh
 * one would (an evicted file stays readable through it until it is closed).
 */
import { open, type FileHandle } from 'node:fs/promises';

export class SharedFileHandles {
  private readonly files = new Map<string, { handle: Promise<FileHandle>; users: number; idle?: NodeJS.Timeout; knownSize: number }>();

  constructor(private readonly idleCloseMs: number) {}

  /** The open file at `path` (rejects as `open` does), and how to give it back. */
  async acquire(path: string): Promise<{ file: FileHandle; release: () => void; size: (atLeast: number) => Promise<number> }> {
    let entry = this.files.get(path);
    if (!entry) {
      entry = { handle: open(path, 'r'), users: 0, knownSize: 0 };
      this.files.set(path, entry);
    }
    const mine = entry;
    mine.users++;
    clearTimeout(mine.idle);
    let file: FileHandle;
    try {
      file = await mine.handle;
    } catch (err) {
      if (this.files.get(path) === mine) this.files.delete(path);
      throw err;
    }
    let released = false;
    return {
      file,
      release: () => {
        if (released) return;
        released = true;
        if (--mine.users > 0) return;
        mine.idle = setTimeout(() => {
          if (this.files.get(path) === mine && mine.users === 0) {
            this.files.delete(path);
            void file.close().catch(() => undefined);
          }
        }, this.idleCloseMs);
        mine.idle.unref();
      },
      // The file's size, asked of the file system only when what is known is not enough.
      size: async (atLeast) => {
        if (mine.knownSize < atLeast) mine.knownSize = Math.max(mine.knownSize, (await file.stat()).size);
        return mine.knownSize;
      },
    };
  }
}
