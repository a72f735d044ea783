/**
 * Activity: attach to the registration (or prefetch) of (site, GUID) that someone else started,
 * and wait for its result. `distributeImage` uses it when its child start fails with "already
 * started": Temporal child workflows cannot attach to an existing run, the client can. The wait
 * heartbeats, so a lost worker is noticed and the attach retried elsewhere.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ErrorType } from '../common/errors.js';
import { prefetchWorkflowId, registerWorkflowId, siteTaskQueue } from '../common/naming.js';
import type { RegisterImageInput, RegisterImageResult, RegisterMode } from '../common/register-contract.js';
import { imageRunText } from '../common/run-descriptions.js';
import type { ActivityDeps } from './activity-deps.js';

const HEARTBEAT_EVERY_MS = 10_000;

export function makeAwaitRegistration(deps: Pick<ActivityDeps, 'temporal'>) {
  return async function awaitRegistration(request: RegisterImageInput & { mode: RegisterMode }): Promise<RegisterImageResult> {
    const ctx = Context.current();
    const { url, guid, site, mode } = request;
    // Start-or-attach, exactly as the client does: if the run closed meanwhile, a new one asks the site first.
    const handle = await deps.temporal.start(mode === 'prefetch' ? 'prefetchImage' : 'registerImage', {
      args: [{ url, guid, site }],
      workflowId: mode === 'prefetch' ? prefetchWorkflowId(site, guid) : registerWorkflowId(site, guid),
      taskQueue: siteTaskQueue(site),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      ...imageRunText({ url, guid, sites: [site], mode }),
    });
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      ctx.heartbeat();
      return (await Promise.race([handle.result(), ctx.cancelled])) as RegisterImageResult;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      // The run we attached to failed: report its reason, do not start it over from here.
      let cause: unknown = err.cause;
      while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
      throw ApplicationFailure.create({
        type: cause instanceof ApplicationFailure && cause.type ? cause.type : ErrorType.SiteRejected,
        nonRetryable: true,
        message: cause instanceof Error ? cause.message : err.message,
      });
    } finally {
      clearInterval(beat);
    }
  };
}
