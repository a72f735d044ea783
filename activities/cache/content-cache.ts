/**
 * The host's content-addressed download cache: `<dir>/<sha1 hex>` (other algorithms:
 * `<dir>/<algorithm>-<hex>`). A file appears under its name only after its hash matched;
 * until then it lives under `<dir>/.partial/`, where an interrupted download can be resumed
 * (with the transport's small resume state beside it, `<name>.resume`). The raw filesystem unpacked
 * from a compressed part sits next to it as `<name>.raw`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentHash } from '../../common/image-types.js';

export class ContentCache {
  readonly partialDir: string;
  constructor(readonly dir: string) {
    this.partialDir = join(dir, '.partial');
  }

  async init(): Promise<void> {
    await mkdir(this.partialDir, { recursive: true });
  }

  nameOf(hash: ContentHash): string {
    if (!/^[0-9a-f]+$/.test(hash.hex)) throw new Error(`not a hex digest: ${hash.hex}`);
    return hash.algorithm === 'sha1' ? hash.hex : `${hash.algorithm}-${hash.hex}`;
  }

  pathOf(hash: ContentHash): string {
    return join(this.dir, this.nameOf(hash));
  }

  /** Where the download of `hash` writes until it is verified. Stable, so a retry can resume it. */
  partialPathOf(hash: ContentHash): string {
    return join(this.partialDir, this.nameOf(hash));
  }

  /** Where a transport keeps what it needs to resume the partial download of `hash`. */
  resumeStatePathOf(hash: ContentHash): string {
    return `${this.partialPathOf(hash)}.resume`;
  }

  /** The raw filesystem unpacked from the compressed content `hash`. */
  rawPathOf(hash: ContentHash): string {
    return `${this.pathOf(hash)}.raw`;
  }

  /** A fresh scratch name in the partial area for work derived from `hash` (renamed into place when done). */
  scratchPathOf(hash: ContentHash, suffix: string): string {
    return join(this.partialDir, `${this.nameOf(hash)}.${suffix}.${randomBytes(4).toString('hex')}`);
  }

  /** The verified file's size, or undefined when it is not cached. A hit refreshes its use time. */
  async lookup(hash: ContentHash): Promise<{ path: string; size: number } | undefined> {
    const path = this.pathOf(hash);
    try {
      const s = await stat(path);
      const now = new Date();
      await utimes(path, now, s.mtime);
      return { path, size: s.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Move a verified partial file into place. */
  async commit(hash: ContentHash): Promise<{ path: string; size: number }> {
    const path = this.pathOf(hash);
    await rename(this.partialPathOf(hash), path);
    await rm(this.resumeStatePathOf(hash), { force: true });
    return { path, size: (await stat(path)).size };
  }

  async discardPartial(hash: ContentHash): Promise<void> {
    await rm(this.partialPathOf(hash), { force: true });
    await rm(this.resumeStatePathOf(hash), { force: true });
  }
}
