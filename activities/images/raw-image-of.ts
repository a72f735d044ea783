/**
 * `rawImageOf(part)` for site backends: the raw filesystem image of a FILESYSTEM or ZFILESYSTEM
 * part. A ZFILESYSTEM is unpacked once into the cache beside the download (`<name>.raw`, written
 * under a scratch name and renamed, so a crash never leaves a half image under that name) and
 * reused afterwards. Inside an activity it heartbeats while it unpacks. With a cache quota, the
 * raw image counts against it with its part (reserved in steps as it grows, evicting least
 * recently used unheld files; "insufficient cache space" when there is no room).
 */
import { rename, rm, stat } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { ErrorType } from '../../common/errors.js';
import type { CachedPart } from '../../common/image-types.js';
import { InsufficientSpaceError } from '../cache/cache-index.js';
import type { HostCache } from '../cache/host-cache.js';
import { noCacheSpaceFailure } from '../no-cache-space-failure.js';
import { unpackFilesystem } from './unpack-filesystem.js';

export interface RawImageOptions {
  /** The host's cache; raw images count against its quota. */
  cache: Pick<HostCache, 'nameOf' | 'rawPathOf' | 'scratchPathOf' | 'reserveCompanion' | 'reserveStep' | 'noSpaceError'>;
  logger: Logger;
}

const HEARTBEAT_EVERY_MS = 1000;

export function makeRawImageOf({ cache, logger }: RawImageOptions): (part: CachedPart) => Promise<string> {
  /** Unpacks of the same content on this host share one run. */
  const inFlight = new Map<string, Promise<string>>();

  return async function rawImageOf(part: CachedPart): Promise<string> {
    if (part.type === 'FILESYSTEM') return part.path;
    if (part.type !== 'ZFILESYSTEM') {
      throw ApplicationFailure.create({
        type: ErrorType.Misconfigured,
        nonRetryable: true,
        message: `${part.type} part ${part.url} has no raw filesystem image`,
      });
    }
    const key = cache.nameOf(part.hash);
    let running = inFlight.get(key);
    if (!running) {
      running = unpackOnce(part).finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  };

  const space = cache;

  async function unpackOnce(part: CachedPart): Promise<string> {
    const raw = cache.rawPathOf(part.hash);
    if (await stat(raw).then(() => true, () => false)) return raw;
    const scratch = cache.scratchPathOf(part.hash, 'raw');
    const ctx = activityContext();
    let last = { bytesRead: 0, bytesTotal: part.size };
    const timer = ctx ? setInterval(() => ctx.heartbeat({ unpacking: part.url, ...last }), HEARTBEAT_EVERY_MS) : undefined;
    const room = roomFor(part);
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
      if (room.failure && space) throw noCacheSpaceFailure(space.noSpaceError(room.failure, ctx?.info.scheduledTimestampMs ?? Date.now()));
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
  function roomFor(part: CachedPart) {
    const abort = new AbortController();
    const cancel = activityContext()?.cancellationSignal;
    const onCancel = (): void => abort.abort(cancel?.reason);
    cancel?.addEventListener('abort', onCancel, { once: true });
    let reserved = 0;
    const room = {
      signal: abort.signal,
      failure: undefined as InsufficientSpaceError | undefined,
      grow: (bytes: number): void => {
        if (!space || bytes <= reserved || room.failure) return;
        const step = space.reserveStep();
        const wanted = Math.ceil(bytes / step) * step;
        try {
          space.reserveCompanion(part.hash, wanted);
          reserved = wanted;
        } catch (err) {
          if (!(err instanceof InsufficientSpaceError)) throw err;
          room.failure = err;
          abort.abort(err);
        }
      },
      settle: (bytes: number): void => {
        if (space && (reserved > 0 || bytes > 0)) space.reserveCompanion(part.hash, bytes);
        reserved = bytes;
      },
      done: (): void => cancel?.removeEventListener('abort', onCancel),
    };
    return room;
  }
}

/** The current activity's context, or undefined when called outside one (tools, tests). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
