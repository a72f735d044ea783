/**
 * deregisterImage: remove one image from one site, through the site's own backend on its task
 * queue (workflow id `deregisterWorkflowId(site, guid)`). Nothing to remove is not an error.
 * The run carries the same search attributes as a registration, so `list` and the Temporal UI
 * show the removal beside the registrations of the GUID.
 */
import { ApplicationFailure, patched, proxyActivities, setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { createSiteQueueActivities } from '../activities/index.js';
import type { DeregisterImageInput, DeregisterImageResult } from '../common/distribute-contract.js';
import { ErrorType } from '../common/errors.js';
import { guidProblem, isSiteName } from '../common/guid.js';
import { siteTaskQueue } from '../common/naming.js';
import { ImageGuidKey, ImageSiteKey, ImageStageKey } from '../common/register-contract.js';
import { ACTIVITY_RETRY } from '../common/retry-policies.js';
import { shortGuid } from '../common/run-descriptions.js';
import { retryingSignal } from '../common/retry-notice.js';
import { awaitTurn, IMAGE_TURN_PATCH } from './await-turn.js';

type SiteActivities = ReturnType<typeof createSiteQueueActivities>;

export async function deregisterImage(input: DeregisterImageInput): Promise<DeregisterImageResult> {
  const problem = guidProblem(input?.guid) ?? (isSiteName(input?.site) ? undefined : `not a site name: ${JSON.stringify(input?.site)}`);
  if (problem) throw ApplicationFailure.create({ type: ErrorType.InvalidRequest, nonRetryable: true, message: problem });
  const { guid, site } = input;
  upsertSearchAttributes([
    { key: ImageGuidKey, value: guid },
    { key: ImageSiteKey, value: site },
    { key: ImageStageKey, value: 'deregistering' },
  ]);
  upsertMemo({ guid, site, operation: 'deregister' });
  const onSite = proxyActivities<SiteActivities>({
    taskQueue: siteTaskQueue(site),
    startToCloseTimeout: '30m',
    heartbeatTimeout: '30s', // the activity heartbeats from a timer whatever the backend does
    retry: ACTIVITY_RETRY.deregisterImage,
  });
  // While the site's removal is retried, the current details say so (common/retry-notice.ts).
  setHandler(retryingSignal, ({ text }) => setCurrentDetails(`**Stage:** deregistering at ${site}\n\n**Retrying:** ${text}`));
  try {
    // One operation at a time per (site, GUID): a registration or provisioning asked before this finishes first.
    if (patched(IMAGE_TURN_PATCH)) {
      await awaitTurn(site, guid, (waiting) => setCurrentDetails(`**Stage:** deregistering at ${site}${waiting ? `\n\n**Waiting:** ${waiting}` : ''}`));
    }
    setCurrentDetails(`**Stage:** deregistering at ${site}`);
    await onSite.deregisterImage.executeWithOptions({ summary: `remove ${shortGuid(guid)}'s images and files from ${site}` }, [{ guid }]);
  } catch (err) {
    upsertSearchAttributes([{ key: ImageStageKey, value: 'failed' }]);
    setCurrentDetails(`**Stage:** failed\n\n**Failed:** ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  upsertSearchAttributes([{ key: ImageStageKey, value: 'deregistered' }]);
  setCurrentDetails(`**Stage:** deregistered from ${site}`);
  return { guid, site };
}
