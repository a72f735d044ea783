/**
 * "Insufficient cache space", as the cache layer says it: a plain error carrying its stable type,
 * whether it is final (the run gave up waiting for room) and when to try again. The activity that
 * hits it turns it into the ApplicationFailure the workflow sees.
 */
import { ErrorType } from '../../common/errors.js';

export class NoCacheSpaceError extends Error {
  override readonly name = 'NoCacheSpaceError';
  readonly type = ErrorType.InsufficientCacheSpace;
  constructor(
    message: string,
    /** No more waiting: running registrations did not release room within `spaceWaitMs`. */
    readonly final: boolean,
    /** When not final: how long to wait before trying again. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}
