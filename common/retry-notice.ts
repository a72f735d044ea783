/**
 * An activity that fails with a fault that will be retried tells its workflow so (a `retrying`
 * signal), so the run's current details and its `progress` query say "retrying: <last error>
 * (attempt N, next in T)" while `status` reads the same live from the pending activity. Only the
 * failures of attempts 1, 2, 4, 8, … send one: a fault retried for 6 h at one attempt a minute
 * adds about ten signals, so the history grows with the logarithm of an outage, not with its
 * length. Workflow-safe, pure.
 */
import { defineSignal } from '@temporalio/workflow';
import { retryDelayMs } from './retry-policies.js';

export interface RetryNotice {
  /** What is being retried: the activity type, and the part type for a download. */
  key: string;
  /** `retrying: downloadPart: <last error> (attempt 3, next in 4 s)`. */
  text: string;
}

export const retryingSignal = defineSignal<[RetryNotice]>('retrying');

/** The most of an error message a notice carries (the message names URLs already shortened). */
const MAX_MESSAGE_CHARS = 500;

/** Whether the failure of attempt `failed` is worth a signal: attempts 1, 2, 4, 8, … */
export function noticeWorthy(failed: number): boolean {
  return failed >= 1 && Number.isInteger(Math.log2(failed));
}

/** The notice of the failure of attempt `failed`, in the words `status` uses (client/retrying-state.ts). */
export function retryNotice(key: string, message: string, failed: number): RetryNotice {
  const shown = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
  const next = Math.round(retryDelayMs(failed) / 1000);
  return { key, text: `retrying: ${key}: ${shown} (attempt ${failed + 1}, next in ${next} s)` };
}
