/**
 * The content cache with its index in charge: a file is served only when the index says it is
 * `ready` (so a file left half-written by a crash is never served), a hit refreshes its last use,
 * and commit and discard update the index.
 */
import type { ContentHash } from '../../common/image-types.js';
import { ContentCache } from './content-cache.js';
import type { CacheSpace } from './cache-space.js';

export class IndexedContentCache extends ContentCache {
  constructor(
    dir: string,
    private readonly space: CacheSpace,
  ) {
    super(dir);
  }

  override async lookup(hash: ContentHash): Promise<{ path: string; size: number } | undefined> {
    if (!this.space.isReady(hash)) return undefined;
    const hit = await super.lookup(hash);
    if (hit) this.space.touch(hash);
    else this.space.forget(hash); // removed behind our back
    return hit;
  }

  override async commit(hash: ContentHash): Promise<{ path: string; size: number }> {
    const done = await super.commit(hash);
    this.space.markReady(hash, done.size);
    return done;
  }

  override async discardPartial(hash: ContentHash): Promise<void> {
    await super.discardPartial(hash);
    this.space.forget(hash);
  }
}
