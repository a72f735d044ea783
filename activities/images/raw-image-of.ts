/**
 * `rawImageOf(part)` for site backends: the raw filesystem image of a FILESYSTEM or ZFILESYSTEM
 * part. A ZFILESYSTEM is unpacked once into the cache beside the download (`<name>.raw`, written
 * under a scratch name and renamed, so a crash never leaves a half image under that name) and
 * reused afterwards. Called from an activity, it heartbeats through the run it is lent while it
 * unpacks. With a cache quota, the raw image counts against it with its part (reserved in steps as
 * it grows, evicting least recently used unheld files; `NoCacheSpaceError` when there is no room).
 */
import { rename, rm, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ErrorType, ImageProxyError } from '../../common/errors.js';
import type { CachedPart } from '../../common/image-types.js';
import { InsufficientSpaceError } from '../cache/cache-index.js';
import type { HostCache } from '../cache/host-cache.js';
import { unpackFilesystem } from './unpack-filesystem.js';

export interface RawImageOptions {
  /** The host's cache; raw images count against its quota. */
  cache: Pick<HostCache, 'nameOf' | 'rawPathOf' | 'scratchPathOf' | 'reserveCompanion' | 'reserveStep' | 'noSpaceError'>;
  logger: Logger;
}

/** What the calling activity lends an unpack: its heartbeat, its cancellation, when it was first scheduled. */
export interface UnpackRun {
  heartbeat(details: unknown): void;
  signal: AbortSignal;
  firstScheduledMs: number;
}

/** The raw image of `part`; `run` when called from an activity (absent: tools, tests). */
export type RawImageOf = (part: CachedPart, run?: UnpackRun) => Promise<string>;

/** Asked for the raw image of a part that has none (a KERNEL, a RAMDISK): a backend's mistake. */
export class NoRawImageError extends ImageProxyError {
  override readonly name = 'NoRawImageError';
  constructor(message: string) {
    super({ type: ErrorType.Misconfigured, nonRetryable: true, message });
  }
}

const HEARTBEAT_EVERY_MS = 1000;

export function makeRawImageOf({ cache, logger }: RawImageOptions): RawImageOf {
  /** Unpacks of the same content on this host share one run. */
  const inFlight = new Map<string, Promise<string>>();

  return async function rawImageOf(part: CachedPart, run?: UnpackRun): Promise<string> {
    if (part.type === 'FILESYSTEM') return part.path;
    if (part.type !== 'ZFILESYSTEM') throw new NoRawImageError(`${part.type} part ${part.url} has no raw filesystem image`);
    const key = cache.nameOf(part.hash);
    let running = inFlight.get(key);
    if (!running) {
      running = unpackOnce(part, run).finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  };

  async function unpackOnce(part: CachedPart, run: UnpackRun | undefined): Promise<string> {
    const raw = cache.rawPathOf(part.hash);
    if (await stat(raw).then(() => true, () => false)) return raw;
    const scratch = cache.scratchPathOf(part.hash, 'raw');
    let last = { bytesRead: 0, bytesTotal: part.size };
    const timer = run ? setInterval(() => run.heartbeat({ unpacking: part.url, ...last }), HEARTBEAT_EVERY_MS) : undefined;
    const room = roomFor(part, run?.signal);
    try {
      const result = await unpackFilesystem({
        source: part.path,
        dest: scratch,
        url: part.url,
        onProgress: (bytesRead, bytesTotal) => (last = { bytesRead, bytesTotal }),
        onRawBytes: room.grow,
        signal: room.signal,
      });
      room.settle(result.bytes);
      await rename(scratch, raw);
      logger.info({ url: part.url, ...result }, 'unpacked ZFILESYSTEM');
      return raw;
    } catch (err) {
      room.settle(0);
      if (room.failure) throw cache.noSpaceError(room.failure, run?.firstScheduledMs ?? Date.now());
      throw err;
    } finally {
      if (timer) clearInterval(timer);
      room.done();
      await rm(scratch, { force: true });
    }
  }

  /**
   * The quota side of one unpack: `grow` reserves ahead in steps as the raw image grows and, when
   * there is no room, aborts the unpack through `signal` and keeps the reason in `failure`;
   * `settle` counts the final size (0: give it all back).
   */
  function roomFor(part: CachedPart, cancel: AbortSignal | undefined) {
    const abort = new AbortController();
    const onCancel = (): void => abort.abort(cancel?.reason);
    cancel?.addEventListener('abort', onCancel, { once: true });
    let reserved = 0;
    const room = {
      signal: abort.signal,
      failure: undefined as InsufficientSpaceError | undefined,
      grow: (bytes: number): void => {
        if (bytes <= reserved || room.failure) return;
        const step = cache.reserveStep();
        const wanted = Math.ceil(bytes / step) * step;
        try {
          cache.reserveCompanion(part.hash, wanted);
          reserved = wanted;
        } catch (err) {
          if (!(err instanceof InsufficientSpaceError)) throw err;
          room.failure = err;
          abort.abort(err);
        }
      },
      settle: (bytes: number): void => {
        if (reserved > 0 || bytes > 0) cache.reserveCompanion(part.hash, bytes);
        reserved = bytes;
      },
      done: (): void => cancel?.removeEventListener('abort', onCancel),
    };
    return room;
  }
}
