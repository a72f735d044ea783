/**
 * collectGarbage: the clean-up of cloud images at one site. Images ImageProxy registered that
 * nobody has requested for `olderThanDays` (or since `notRequestedSince`) and that nothing uses (no instance, no provisioned
 * node) are deregistered. Cache eviction never deregisters anything; this is the only place
 * cloud images are removed by policy. What it did is its result and its memo.
 */
import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertMemo } from '@temporalio/workflow';
import type { createSiteQueueActivities } from '../activities/index.js';
import { cleanUpCutoff, type CleanUpOutcome, type CollectGarbageInput, type CollectGarbageResult } from '../common/clean-up-contract.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../common/errors.js';
import { isSiteName } from '../common/guid.js';
import { siteTaskQueue } from '../common/naming.js';
import { shortGuid } from '../common/run-descriptions.js';

type SiteActivities = ReturnType<typeof createSiteQueueActivities>;

export async function collectGarbage(input: CollectGarbageInput): Promise<CollectGarbageResult> {
  // Workflow time is deterministic (the time of the workflow task).
  const chosen = isSiteName(input?.site) ? cleanUpCutoff(input, Date.now()) : { problem: `not a site name: ${JSON.stringify(input?.site)}` };
  if ('problem' in chosen) {
    throw ApplicationFailure.create({
      type: ErrorType.InvalidRequest,
      nonRetryable: true,
      message: `collectGarbage needs {site, olderThanDays > 0 | notRequestedSince, dryRun?}: ${chosen.problem}`,
    });
  }
  const { site } = input;
  const { cutoff } = chosen;
  const dryRun = input.dryRun === true;
  const onSite = proxyActivities<SiteActivities>({
    taskQueue: siteTaskQueue(site),
    startToCloseTimeout: '10m',
    retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  });

  const images = await onSite.listRegisteredImages.executeWithOptions({ summary: `list the images ImageProxy registered at ${site}` }, []);
  const outcomes: CleanUpOutcome[] = [];
  for (const image of images) {
    if (image.lastRequestedAt >= cutoff) continue;
    const outcome: CleanUpOutcome = { guid: image.guid, ids: image.ids, lastRequestedAt: image.lastRequestedAt, action: 'failed' };
    try {
      setCurrentDetails(`**Checked:** ${outcomes.length} of ${images.length} images at ${site}`);
      outcome.action = await onSite.deregisterIfUnused.executeWithOptions(
        { summary: `${dryRun ? 'check (dry run)' : 'deregister if unused'} ${shortGuid(image.guid)} at ${site}` },
        [{ guid: image.guid, cutoff, dryRun }],
      );
    } catch (err) {
      // One image the site refuses to remove does not stop the clean-up of the others.
      outcome.error = innermostMessage(err);
    }
    outcomes.push(outcome);
  }
  setCurrentDetails(
    [`**Done:** ${images.length} images seen at ${site}${dryRun ? ' (dry run)' : ''}`, '', ...outcomes.map((o) => `- ${shortGuid(o.guid)}: ${o.action}${o.error ? ` (${o.error})` : ''}`)].join('\n'),
  );
  const result: CollectGarbageResult = { site, dryRun, cutoff, imagesSeen: images.length, outcomes };
  upsertMemo({
    dryRun,
    cutoff,
    imagesSeen: images.length,
    deregistered: outcomes.filter((o) => o.action === 'deregistered').map((o) => o.guid),
    wouldDeregister: outcomes.filter((o) => o.action === 'would-deregister').map((o) => o.guid),
    keptInUse: outcomes.filter((o) => o.action === 'kept-in-use').map((o) => o.guid),
    failed: outcomes.filter((o) => o.action === 'failed').map((o) => o.guid),
  });
  return result;
}

function innermostMessage(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) message = e.message;
  return message;
}
