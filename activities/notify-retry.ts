/**
 * `activity`, telling its workflow when it fails with a fault Temporal will retry (common/retry-notice.ts):
 * the workflow's current details and `progress` query then say what is being retried. Only the
 * failures of attempts 1, 2, 4, 8, … signal, so the history stays small however long a fault lasts.
 * A signal that cannot be sent (Temporal itself unreachable) is given up after a moment: the
 * activity's own outcome never depends on it.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { WorkflowClient } from '@temporalio/client';
import { NON_RETRYABLE_ERROR_TYPES, type ErrorType } from '../common/errors.js';
import { noticeWorthy, retryingSignal, retryNotice } from '../common/retry-notice.js';

const SIGNAL_WAIT_MS = 2000;

export function withRetryNotice<A extends unknown[], R>(temporal: WorkflowClient, activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const noticed = async (...args: A): Promise<R> => {
    try {
      return await activity(...args);
    } catch (err) {
      if (willBeRetried(err)) await notify(temporal, err, args[0]).catch(() => undefined);
      throw err;
    }
  };
  Object.defineProperty(noticed, 'name', { value: activity.name });
  return noticed;
}

async function notify(temporal: WorkflowClient, err: unknown, input: unknown): Promise<void> {
  const { info } = Context.current();
  if (!noticeWorthy(info.attempt) || !info.workflowExecution) return;
  const part = (input as { part?: { type?: unknown } } | undefined)?.part?.type;
  const key = typeof part === 'string' ? `${info.activityType} ${part}` : info.activityType;
  const notice = retryNotice(key, err instanceof Error ? err.message : String(err), info.attempt);
  const sent = temporal.getHandle(info.workflowExecution.workflowId, info.workflowExecution.runId).signal(retryingSignal, notice).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([sent, new Promise((r) => (timer = setTimeout(r, SIGNAL_WAIT_MS)))]).finally(() => clearTimeout(timer));
}

function willBeRetried(err: unknown): boolean {
  if (err instanceof CancelledFailure) return false;
  if (err instanceof ApplicationFailure) return !err.nonRetryable && !NON_RETRYABLE_ERROR_TYPES.includes(err.type as ErrorType);
  return true;
}
