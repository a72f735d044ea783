/**
 * Space in the host's download cache: the quota, who holds what, eviction and crash recovery.
 * The index (SQLite) decides; this carries the decisions out on disk. Used through `HostCache`
 * (host-cache.ts): `hold` when a run wants a part, `guardTransfer` around the transfer (reserves
 * the size as soon as it is known, evicting least recently used unheld files), `release` when
 * the run ends. No Temporal here: waiting heartbeats through a callback, errors are plain.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ContentHash } from '../../common/image-types.js';
import type { TransferProgress } from '../transports/transport.js';
import { countEvictions } from '../metrics/image-proxy-metrics.js';
import { CacheIndex, type Holder, type InsufficientSpaceError } from './cache-index.js';
import type { ContentCache } from './content-cache.js';
import { noCacheSpaceError, type NoCacheSpaceError } from './no-cache-space-error.js';
import { isCacheFileName, planReconcile, type ReconcilePlan } from './reconcile-plan.js';
import { guardTransferSpace, type TransferSpaceGuard } from './transfer-space-guard.js';

export interface CacheSpaceOptions {
  /** The content-addressed cache whose files this accounts for (paths, names). */
  cache: ContentCache;
  /** File of the SQLite index. */
  indexFile: string;
  /** Quota of the cache in bytes, downloads in progress included. Absent: no quota. */
  maxBytes?: number;
  /** How long a download that does not fit keeps retrying before its run fails. */
  spaceWaitMs: number;
  logger: Logger;
  /**
   * Called after the files of an evicted entry are removed and before the index forgets it
   * (synchronously: a crash test blocks here to kill the process mid-eviction).
   */
  onEvicting?: (victim: string) => void;
}

/** What a writer waiting for another's transfer of the same file does meanwhile. */
export interface TransferWait {
  /** Say the waiter is alive (an activity heartbeats). */
  heartbeat(): void;
  /** Wait `ms` (an activity's cancellable sleep). */
  sleep(ms: number): Promise<void>;
}

/** Is this workflow run still running? (Asked of Temporal by the worker.) */
export type RunIsOpen = (holder: Holder) => Promise<boolean>;

export class CacheSpace {
  readonly index: CacheIndex;
  private readonly cache: ContentCache;
  /** Names this worker in transfer leases: `<host>:<pid>:<random>` (one per site worker). */
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(private readonly options: CacheSpaceOptions) {
    this.cache = options.cache;
    this.index = new CacheIndex(options.indexFile);
  }

  close(): void {
    this.index.close();
  }

  get maxBytes(): number | undefined {
    return this.options.maxBytes;
  }

  /** `holder` uses the part `hash` of image `guid` until `release`: it cannot be evicted meanwhile. */
  hold(hash: ContentHash, holder: Holder, guid: string): void {
    this.index.hold(this.cache.nameOf(hash), holder, guid);
  }

  /** Release what a run holds (it ended: completed, failed or cancelled). */
  release(runId: string): number {
    return this.index.release(runId);
  }

  touch(hash: ContentHash): void {
    this.index.touch(this.cache.nameOf(hash));
  }

  touchImage(guid: string): number {
    return this.index.touchImage(guid);
  }

  /** Whether the index says `hash` is cached and verified (never true for a half-written file). */
  isReady(hash: ContentHash): boolean {
    return this.index.entry(this.cache.nameOf(hash))?.state === 'ready';
  }

  markReady(hash: ContentHash, size: number): void {
    this.index.markReady(this.cache.nameOf(hash), size);
  }

  forget(hash: ContentHash): void {
    this.index.forget(this.cache.nameOf(hash));
  }

  /**
   * Make room for `bytes` of `hash`, evicting least recently used files no running workflow
   * holds. Synchronous (SQLite and unlink), so a transfer's progress callback can call it.
   * Throws `InsufficientSpaceError` when it cannot.
   */
  reserve(hash: ContentHash, bytes: number): void {
    const quota = this.options.maxBytes;
    if (quota === undefined) return;
    this.evict(this.index.reserve(this.cache.nameOf(hash), bytes, quota), hash);
  }

  /**
   * Count `bytes` of companion files (the `.raw` unpacked from a compressed part) with `hash`'s
   * entry, evicting as `reserve` does; a smaller number gives room back. Throws
   * `InsufficientSpaceError` when there is no room.
   */
  reserveCompanion(hash: ContentHash, bytes: number): void {
    this.evict(this.index.reserveCompanion(this.cache.nameOf(hash), bytes, this.options.maxBytes), hash);
  }

  /** The step in which a write of unknown final size reserves ahead (a sixteenth of the quota, at most 64 MiB). */
  reserveStep(): number {
    if (this.options.maxBytes === undefined) return UNKNOWN_SIZE_STEP;
    return Math.max(1, Math.min(UNKNOWN_SIZE_STEP, Math.floor((this.options.maxBytes ?? 0) / 16)));
  }

  /** Remove the files of entries the index marked `evicting` for `hash`, then forget them. */
  private evict(victims: readonly string[], hash: ContentHash): void {
    countEvictions(victims.length);
    victims.forEach((victim) => {
      for (const path of this.pathsOf(victim)) rmSync(path, { force: true });
      this.options.onEvicting?.(victim);
      this.index.forget(victim);
      this.options.logger.info({ evicted: victim, for: this.cache.nameOf(hash) }, 'evicted from the cache');
    });
  }

  /**
   * Run `transfer` of `hash` as its only writer on this host: the workers of other sites (in this
   * process or another) that share the cache wait meanwhile, heartbeating, and then find the file
   * ready. A lease in the index, renewed while the transfer runs, says who writes; a writer that
   * died loses it when it runs out (or at once when its process is seen gone).
   */
  async exclusiveTransfer<T>(hash: ContentHash, transfer: () => Promise<T>, wait: TransferWait): Promise<T> {
    const name = this.cache.nameOf(hash);
    while (this.index.claimTransfer(name, this.owner, TRANSFER_LEASE_MS) === 'busy') {
      wait.heartbeat();
      await wait.sleep(TRANSFER_WAIT_POLL_MS);
    }
    const renew = setInterval(() => this.index.renewTransfer(name, this.owner, TRANSFER_LEASE_MS), TRANSFER_LEASE_MS / 3);
    try {
      return await transfer();
    } finally {
      clearInterval(renew);
      this.index.endTransfer(name, this.owner);
    }
  }

  /**
   * Wrap a transfer of `hash` so its progress reserves room and it is aborted when there is none
   * (see transfer-space-guard.ts; `failure` after the transfer throws).
   */
  guardTransfer(hash: ContentHash, signal: AbortSignal, onProgress: (p: TransferProgress) => void): TransferSpaceGuard {
    const space = {
      reserved: this.index.entry(this.cache.nameOf(hash))?.size ?? 0,
      step: this.reserveStep(),
      reserve: (bytes: number) => this.reserve(hash, bytes),
    };
    return guardTransferSpace(space, signal, onProgress);
  }

  /** The "insufficient cache space" error for `err`: final once `spaceWaitMs` has passed since the first attempt. */
  noSpaceError(err: InsufficientSpaceError, firstScheduledMs: number): NoCacheSpaceError {
    return noCacheSpaceError(err, Date.now() - firstScheduledMs, this.options.spaceWaitMs);
  }

  /**
   * Remove the partial files and index rows of downloads no run holds any more (their runs gave
   * up or crashed), so nothing stays reserved. Called when a run releases its holds, after the
   * sweep of ended runs, and at worker start. Answers the names removed.
   */
  async discardAbandoned(): Promise<string[]> {
    const names = this.index.claimAbandoned(this.owner, TRANSFER_LEASE_MS);
    for (const name of names) {
      try {
        for (const path of this.pathsOf(name)) await rm(path, { force: true });
      } finally {
        this.index.endDiscard(name, this.owner);
      }
    }
    if (names.length > 0) this.options.logger.info({ discarded: names }, 'removed abandoned partial downloads');
    return names;
  }

  /** Drop the holds of runs that have ended without releasing them (worker or host gone, …). */
  async releaseEndedRuns(isOpen: RunIsOpen): Promise<number> {
    let released = 0;
    for (const holder of this.index.holders()) {
      const open = await isOpen(holder).catch(() => true); // Temporal unreachable: keep the hold
      if (!open) released += this.index.release(holder.runId);
    }
    if (released > 0) this.options.logger.info({ released }, 'released cache holds of ended runs');
    await this.discardAbandoned();
    return released;
  }

  /**
   * Make the index and the files agree again (run at worker start, before any download): finish
   * interrupted evictions, drop entries whose files are gone, adopt verified files whose index
   * update was lost, remove orphan files. Answers what it did.
   */
  async reconcile(): Promise<ReconcilePlan> {
    const files = new Map<string, number>();
    const partials = new Map<string, number>();
    for (const [dir, into] of [[this.cache.dir, files], [this.cache.partialDir, partials]] as const) {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isFile() && isCacheFileName(e.name)) into.set(e.name, (await stat(join(dir, e.name))).size);
      }
    }
    for (const owner of this.index.transferOwners()) if (processGone(owner)) this.index.dropTransfers(owner);
    const plan = planReconcile(this.index.entries(), { files, partials });
    for (const path of plan.removeFiles) await rm(join(this.cache.dir, path), { force: true });
    for (const name of plan.dropEntries) {
      for (const path of this.pathsOf(name)) await rm(path, { force: true });
      this.index.forget(name);
    }
    for (const { name, size } of plan.markReady) this.index.markReady(name, size);
    for (const { name, bytes } of plan.companionBytes) this.index.setCompanionBytes(name, bytes);
    await this.discardAbandoned(); // downloads a crash left with no run holding them
    if (plan.removeFiles.length + plan.dropEntries.length + plan.markReady.length + plan.companionBytes.length > 0) {
      this.options.logger.warn(plan, 'cache reconciled with its index');
    }
    return plan;
  }

  /** Every file of entry `name`: the file, its companions (`<name>.raw`, …) and its partial file. */
  private pathsOf(name: string): string[] {
    const paths = [join(this.cache.dir, name), join(this.cache.partialDir, name)];
    for (const dir of [this.cache.dir, this.cache.partialDir]) {
      for (const f of safeReaddir(dir)) if (f.startsWith(`${name}.`)) paths.push(join(dir, f));
    }
    return paths;
  }
}

const TRANSFER_LEASE_MS = 60_000;
const TRANSFER_WAIT_POLL_MS = 500;

/** Whether the process named in a lease owner `<host>:<pid>:<token>` is known to be gone. */
function processGone(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !pid) return false; // another host's: only its lease running out tells
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** How far ahead a download of unknown size reserves. */
const UNKNOWN_SIZE_STEP = 64 << 20;

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

