/**
 * The host's download cache, the one thing activities and the worker use: where a part's files
 * live (content-cache.ts), which of them are verified and served (the index decides: a file left
 * half-written by a crash is never served), and the space they take (cache-space.ts: quota, holds,
 * eviction, one writer per file, crash recovery). No Temporal here: callers pass callbacks to
 * heartbeat and get plain errors with a type (`NoCacheSpaceError`).
 */
import type { Logger } from 'pino';
import type { ContentHash } from '../../common/image-types.js';
import type { TransferProgress } from '../transports/transport.js';
import type { Holder, InsufficientSpaceError } from './cache-index.js';
import { CacheSpace, type RunIsOpen, type TransferWait } from './cache-space.js';
import { ContentCache } from './content-cache.js';
import type { NoCacheSpaceError } from './no-cache-space-error.js';
import type { ReconcilePlan } from './reconcile-plan.js';
import type { TransferSpaceGuard } from './transfer-space-guard.js';

export interface HostCacheOptions {
  /** Directory of the cached files. */
  dir: string;
  /** File of the SQLite index. */
  indexFile: string;
  /** Quota in bytes, downloads in progress included. Absent: no quota. */
  maxBytes?: number;
  /** How long a download that does not fit keeps retrying before its run fails. */
  spaceWaitMs: number;
  logger: Logger;
  /** See `CacheSpaceOptions.onEvicting`. */
  onEvicting?: (victim: string) => void;
}

export class HostCache {
  /** Use `HostCache.open`; tests that look inside the space build the two halves themselves. */
  constructor(
    private readonly files: ContentCache,
    private readonly space: CacheSpace,
  ) {}

  /** Open the cache and make its index agree with the disk (after a crash at any moment). */
  static async open(options: HostCacheOptions): Promise<{ cache: HostCache; reconciled: ReconcilePlan }> {
    const files = new ContentCache(options.dir);
    const cache = new HostCache(files, new CacheSpace({ ...options, cache: files }));
    await files.init();
    return { cache, reconciled: await cache.space.reconcile() };
  }

  close(): void {
    this.space.close();
  }

  // Where things are.
  get dir(): string {
    return this.files.dir;
  }
  nameOf(hash: ContentHash): string {
    return this.files.nameOf(hash);
  }
  partialPathOf(hash: ContentHash): string {
    return this.files.partialPathOf(hash);
  }
  resumeStatePathOf(hash: ContentHash): string {
    return this.files.resumeStatePathOf(hash);
  }
  rawPathOf(hash: ContentHash): string {
    return this.files.rawPathOf(hash);
  }
  scratchPathOf(hash: ContentHash, suffix: string): string {
    return this.files.scratchPathOf(hash, suffix);
  }

  /** The verified file of `hash`, if the index says it is ready and it is there; a hit is a use. */
  async lookup(hash: ContentHash): Promise<{ path: string; size: number } | undefined> {
    if (!this.space.isReady(hash)) return undefined;
    const hit = await this.files.lookup(hash);
    if (hit) this.space.touch(hash);
    else this.space.forget(hash); // removed behind our back
    return hit;
  }

  /** Move the verified partial file of `hash` into place and mark it ready. */
  async commit(hash: ContentHash): Promise<{ path: string; size: number }> {
    const done = await this.files.commit(hash);
    this.space.markReady(hash, done.size);
    return done;
  }

  async discardPartial(hash: ContentHash): Promise<void> {
    await this.files.discardPartial(hash);
    this.space.forget(hash);
  }

  // Who uses what.
  hold(hash: ContentHash, holder: Holder, guid: string): void {
    this.space.hold(hash, holder, guid);
  }
  release(runId: string): number {
    return this.space.release(runId);
  }
  /** Whether a distribution (a workflow whose id starts with `workflowIdPrefix`) still holds the part. */
  heldBy(hash: ContentHash, workflowIdPrefix: string): boolean {
    return this.space.index.holdersOf(this.nameOf(hash)).some((h) => h.workflowId.startsWith(workflowIdPrefix));
  }
  /** Bytes the index counts in the cache now (files and companions), for the metrics. */
  bytesHeld(): number {
    return this.space.index.entries().reduce((sum, e) => sum + e.size + e.companionBytes, 0);
  }

  touch(hash: ContentHash): void {
    this.space.touch(hash);
  }
  touchImage(guid: string): number {
    return this.space.touchImage(guid);
  }
  releaseEndedRuns(isOpen: RunIsOpen): Promise<number> {
    return this.space.releaseEndedRuns(isOpen);
  }
  /** Remove downloads no run holds any more (given up, cancelled, crashed): files and rows. */
  discardAbandoned(): Promise<string[]> {
    return this.space.discardAbandoned();
  }

  // Writing and room.
  exclusiveTransfer<T>(hash: ContentHash, transfer: () => Promise<T>, wait: TransferWait): Promise<T> {
    return this.space.exclusiveTransfer(hash, transfer, wait);
  }
  guardTransfer(hash: ContentHash, signal: AbortSignal, onProgress: (p: TransferProgress) => void): TransferSpaceGuard {
    return this.space.guardTransfer(hash, signal, onProgress);
  }
  reserveCompanion(hash: ContentHash, bytes: number): void {
    this.space.reserveCompanion(hash, bytes);
  }
  reserveStep(): number {
    return this.space.reserveStep();
  }
  noSpaceError(err: InsufficientSpaceError, firstScheduledMs: number): NoCacheSpaceError {
    return this.space.noSpaceError(err, firstScheduledMs);
  }
}
