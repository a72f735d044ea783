/**
 * A test-only workflow: calls one activity by name on a given task queue, once (no retry), and
 * answers its result. It lets a test send an activity to a queue the real workflows never would.
 */
import { proxyActivities } from '@temporalio/workflow';

export async function callActivityOn(input: { taskQueue: string; activity: string }): Promise<unknown> {
  const activities = proxyActivities<Record<string, () => Promise<unknown>>>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 1 },
  });
  return activities[input.activity]!();
}
