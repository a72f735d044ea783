/** The cache layer's "insufficient cache space" as the ApplicationFailure an activity throws. */
import { ApplicationFailure } from '@temporalio/common';
import type { NoCacheSpaceError } from './cache/no-cache-space-error.js';

export function noCacheSpaceFailure(err: NoCacheSpaceError): ApplicationFailure {
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: err.final,
    ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
  });
}
