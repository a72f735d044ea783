/**
 * Retry policies of the activities, in one place beside `errors.ts`. Faults that may get better
 * (network, site, origin 5xx) are retried by time, not by a count: attempts back off from 1 s to
 * 1 min with no attempt limit, and the activity itself turns its fault final once it has been
 * retried for the config's `retryFor` (default 6 h; `activities/retry-for.ts`). Faults that cannot
 * get better (`NON_RETRYABLE_ERROR_TYPES`) are final at once. Workflow-safe.
 */
import { NON_RETRYABLE_ERROR_TYPES } from './errors.js';

/** How long a fault that may get better is retried when the config says nothing. */
export const DEFAULT_RETRY_FOR = '6h';

const INITIAL_INTERVAL_MS = 1000;
const BACKOFF_COEFFICIENT = 2;
const MAXIMUM_INTERVAL_MS = 60_000;

/** Retried until `retryFor` has passed (the activity decides when to stop). */
export const RETRY_BY_TIME = {
  initialInterval: INITIAL_INTERVAL_MS,
  backoffCoefficient: BACKOFF_COEFFICIENT,
  maximumInterval: MAXIMUM_INTERVAL_MS,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * Per activity. Every activity of a registration, a deregistration and a provisioning is retried
 * by time; the bookkeeping calls that must not hold a run up have their own small bounds.
 */
export const ACTIVITY_RETRY = {
  lookupImage: RETRY_BY_TIME,
  fetchMetadata: RETRY_BY_TIME,
  claimHost: RETRY_BY_TIME,
  downloadPart: RETRY_BY_TIME,
  registerParts: RETRY_BY_TIME,
  deregisterImage: RETRY_BY_TIME,
  provisionNodes: RETRY_BY_TIME,
  /** A dead host's holds are released by its own worker: two tries, then the run goes on. */
  releaseCacheHolds: { maximumAttempts: 2 },
};

/** How long Temporal waits after the failure of attempt `failed` (1-based) under RETRY_BY_TIME. */
export function retryDelayMs(failed: number): number {
  return Math.min(INITIAL_INTERVAL_MS * BACKOFF_COEFFICIENT ** (failed - 1), MAXIMUM_INTERVAL_MS);
}
