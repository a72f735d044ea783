/**
 * "Insufficient cache space", as the cache layer says it: a plain error carrying its stable type,
 * whether it is final (the run gave up waiting for room) and when to try again. The activity
 * boundary turns it into the ApplicationFailure the workflow sees (activities/application-failure-of.ts).
 */
import { ErrorType, ImageProxyError } from '../../common/errors.js';
import { formatBytes } from '../../config/byte-size.js';
import type { InsufficientSpaceError } from './cache-index.js';

export class NoCacheSpaceError extends ImageProxyError {
  override readonly name = 'NoCacheSpaceError';
  constructor(
    message: string,
    /** No more waiting: running registrations did not release room within `spaceWaitMs`. */
    readonly final: boolean,
    /** When not final: how long to wait before trying again. */
    retryAfterMs: number | undefined,
  ) {
    super({ type: ErrorType.InsufficientCacheSpace, message, nonRetryable: final, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
}

/**
 * The error a download answers when there is no room: retried (running registrations may release
 * room) every few seconds until `spaceWaitMs` after the first attempt, then final, so the caller
 * hears "insufficient cache space" instead of waiting forever; a later request retries.
 */
export function noCacheSpaceError(err: InsufficientSpaceError, waitedMs: number, spaceWaitMs: number): NoCacheSpaceError {
  const message =
    `insufficient cache space: need ${formatBytes(err.need)}, can free ${formatBytes(err.canFree)} ` +
    `(${formatBytes(err.bytes)} for ${err.entry}; quota ${formatBytes(err.quota)}; the rest is held by running registrations)`;
  const final = waitedMs >= spaceWaitMs;
  return new NoCacheSpaceError(message, final, final ? undefined : Math.min(SPACE_RETRY_MS, Math.max(1, spaceWaitMs - waitedMs)));
}

/** How often a download waiting for room tries again. */
const SPACE_RETRY_MS = 10_000;
