/**
 * The activity boundary for failures: the layers below the activities throw `ImageProxyError`
 * (no Temporal there); an activity throws it on as the `ApplicationFailure` of the same type,
 * message and retryability, which is what the workflow, the retry policies and `status` see.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ImageProxyError } from '../common/errors.js';

/** `err` as the activity throws it: an `ImageProxyError` becomes its `ApplicationFailure`, anything else is kept. */
export function applicationFailureOf(err: unknown): unknown {
  if (!(err instanceof ImageProxyError)) return err;
  const failure = ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: err.nonRetryable,
    ...(err.cause instanceof Error ? { cause: err.cause } : {}),
    ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
  });
  failure.stack = err.stack; // where it was thrown, not where it crossed the boundary
  return failure;
}

type Activity = (...args: never[]) => Promise<unknown>;

/** Each of `activities`, throwing its `ImageProxyError`s as `ApplicationFailure`s (the catch-all at the boundary). */
export function failingAsApplicationFailures<T extends Record<string, Activity>>(activities: T): T {
  const wrapped: Record<string, Activity> = {};
  for (const [key, activity] of Object.entries(activities)) {
    const converting = async (...args: never[]): Promise<unknown> => {
      try {
        return await activity(...args);
      } catch (err) {
        throw applicationFailureOf(err);
      }
    };
    // Keep the function's own name for logs.
    Object.defineProperty(converting, 'name', { value: activity.name });
    wrapped[key] = converting;
  }
  return wrapped as T;
}
