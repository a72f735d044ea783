/**
 * The Temporal Schedule that runs a site's cloud clean-up (`collectGarbage`) every `gc.every`.
 * Created — or brought up to date with the config — by every worker of the site at start, so
 * `imageproxy dev` and `imageproxy worker` both set it up; several workers agree on one schedule id.
 */
import { ScheduleAlreadyRunning, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { CollectGarbageInput } from '../common/clean-up-contract.js';
import { cleanUpScheduleId, cleanUpWorkflowId, siteTaskQueue } from '../common/naming.js';
import { cleanUpRunText } from '../common/run-descriptions.js';
import type { GcConfig } from '../config/config-schema.js';

export async function ensureCleanUpSchedule(client: Client, site: string, gc: GcConfig): Promise<string> {
  const scheduleId = cleanUpScheduleId(site);
  const input: CollectGarbageInput = { site, olderThanDays: gc.olderThanDays, dryRun: false };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'collectGarbage',
    args: [input],
    taskQueue: siteTaskQueue(site),
    workflowId: cleanUpWorkflowId(site),
    ...cleanUpRunText(site, input, false),
  };
  const spec = { intervals: [{ every: gc.every }] };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: 'SKIP' } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
  return scheduleId;
}
