/**
 * What a run is retrying, from its pending activities (`describe()`): "retrying: <last error>
 * (attempt N, next in T)", so a fault being retried is never silent in `status`. Pure.
 */

/** The fields of a pending activity this reads (Temporal's PendingActivityInfo). */
export interface PendingActivityLike {
  activityType?: { name?: string | null } | null;
  attempt?: number | null;
  lastFailure?: { message?: string | null } | null;
  nextAttemptScheduleTime?: { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null;
}

export function retryingOf(pending: readonly PendingActivityLike[] | null | undefined, nowMs: number): string | undefined {
  const lines: string[] = [];
  for (const a of pending ?? []) {
    const attempt = a.attempt ?? 1;
    const message = a.lastFailure?.message;
    if (attempt <= 1 || !message) continue;
    const next = timestampMs(a.nextAttemptScheduleTime);
    const wait = next === undefined ? 'running now' : `next in ${Math.max(0, Math.round((next - nowMs) / 1000))} s`;
    const what = a.activityType?.name ? `${a.activityType.name}: ` : '';
    lines.push(`retrying: ${what}${message} (attempt ${attempt}, ${wait})`);
  }
  return lines.length > 0 ? lines.join('; ') : undefined;
}

function timestampMs(t: PendingActivityLike['nextAttemptScheduleTime']): number | undefined {
  if (!t || t.seconds === null || t.seconds === undefined) return undefined;
  const seconds = typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
  return seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}
