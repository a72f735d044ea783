/**
 * Wait for this run's turn on (site, GUID): until no registration, deregistration or
 * provisioning of the same image at the same site that was asked before this run is still running
 * (common/image-turn.ts). Called by those three workflows before they touch the site, behind a
 * `patched()` marker so that histories of runs from before it replay unchanged.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createSiteQueueActivities } from '../activities/index.js';
import { waitingText } from '../common/image-turn.js';
import { siteTaskQueue } from '../common/naming.js';
import { RETRY_BY_TIME } from '../common/retry-policies.js';

type SiteActivities = ReturnType<typeof createSiteQueueActivities>;

/** The `patched()` id of the turn taking. */
export const IMAGE_TURN_PATCH = 'one-operation-per-image-and-site';

/** `show` is told what the run waits for while it waits, and `undefined` once its turn came. */
export async function awaitTurn(site: string, guid: string, show: (waiting: string | undefined) => void): Promise<void> {
  const check = proxyActivities<SiteActivities>({ taskQueue: siteTaskQueue(site), startToCloseTimeout: '30s', retry: RETRY_BY_TIME });
  // The run ahead may take hours (a download); the wait heartbeats, so a lost worker costs seconds.
  const wait = proxyActivities<SiteActivities>({ taskQueue: siteTaskQueue(site), startToCloseTimeout: '7d', heartbeatTimeout: '30s', retry: RETRY_BY_TIME });
  for (;;) {
    const ahead = await check.findRunsAhead.executeWithOptions({ summary: `find operations on this image at ${site} asked before this one` }, [{ site, guid }]);
    if (ahead.length === 0) break;
    const text = waitingText(ahead);
    show(text);
    await wait.awaitRunsClosed.executeWithOptions({ summary: text.slice(0, 200) }, [{ runs: ahead }]);
  }
  show(undefined);
}
