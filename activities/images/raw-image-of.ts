/**
 * `rawImageOf(part)` for site backends: the raw filesystem image of a FILESYSTEM or ZFILESYSTEM
 * part. A ZFILESYSTEM is unpacked once into the cache beside the download (`<name>.raw`, written
 * under a scratch name and renamed, so a crash never leaves a half image under that name) and
 * reused afterwards. Inside an activity it heartbeats while it unpacks.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { ErrorType } from '../../common/errors.js';
import type { CachedPart } from '../../common/image-types.js';
import type { ContentCache } from '../cache/content-cache.js';
import { unpackFilesystem } from './unpack-filesystem.js';

export interface RawImageOptions {
  cache: ContentCache;
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

  async function unpackOnce(part: CachedPart): Promise<string> {
    const raw = cache.rawPathOf(part.hash);
    if (await stat(raw).then(() => true, () => false)) return raw;
    const scratch = cache.scratchPathOf(part.hash, 'raw');
    const ctx = activityContext();
    let last = { bytesRead: 0, bytesTotal: part.size };
    const timer = ctx ? setInterval(() => ctx.heartbeat({ unpacking: part.url, ...last }), HEARTBEAT_EVERY_MS) : undefined;
    try {
      const result = await unpackFilesystem({
        source: part.path,
        dest: scratch,
        url: part.url,
        onProgress: (bytesRead, bytesTotal) => (last = { bytesRead, bytesTotal }),
        ...(ctx ? { signal: ctx.cancellationSignal } : {}),
      });
      await rename(scratch, raw);
      logger.info({ url: part.url, ...result }, 'unpacked ZFILESYSTEM');
      return raw;
    } finally {
      if (timer) clearInterval(timer);
      await rm(scratch, { force: true });
    }
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
