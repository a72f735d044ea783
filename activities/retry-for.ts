/**
 * Retries bounded by time: an activity's fault that may get better is thrown as is (Temporal
 * retries it, backing off up to a minute) until the activity has been failing for `retryForMs`;
 * then it is thrown as final, saying for how long and how many attempts it was retried. The clock
 * starts when the activity was first scheduled, or at the last progress it reported (a download
 * that moved on resets it).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { applicationFailureOf } from './application-failure-of.js';

/** The fault to throw: `err` itself, or `err` made final when it has been retried long enough. */
export function finalAfterRetryFor(thrown: unknown, retryForMs: number, since?: number): unknown {
  const err = applicationFailureOf(thrown);
  if (err instanceof CancelledFailure) return err;
  if (err instanceof ApplicationFailure && err.nonRetryable) return err;
  const info = Context.current().info;
  const start = Math.max(info.scheduledTimestampMs, since ?? 0);
  const failingFor = Date.now() - start;
  if (failingFor < retryForMs) return err;
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    type: err instanceof ApplicationFailure ? err.type ?? undefined : err instanceof Error ? err.name : undefined,
    nonRetryable: true,
    message: `${message} (retried for ${formatDuration(failingFor)}, ${info.attempt} attempts; retryFor is ${formatDuration(retryForMs)})`,
    ...(err instanceof Error ? { cause: err } : {}),
  });
}

/** `activity`, with its faults made final once retried for `retryForMs`. */
export function retriedFor<A extends unknown[], R>(retryForMs: number, activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const bounded = async (...args: A): Promise<R> => {
    try {
      return await activity(...args);
    } catch (err) {
      throw finalAfterRetryFor(err, retryForMs);
    }
  };
  // Temporal registers activities by their property names; keep the function's own name for logs.
  Object.defineProperty(bounded, 'name', { value: activity.name });
  return bounded;
}

/** `95 s`, `12 min`, `6.0 h`: for messages. */
export function formatDuration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
