/**
 * Activity: the calling workflow run is done with this host's cache (it completed, failed or was
 * cancelled); what it held may be evicted again. The workflow calls it in a `finally` on the host
 * it downloaded on; partial downloads nobody holds any more are removed. Runs that never call it (their host vanished) are released by the worker's
 * check of holders against Temporal.
 */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './activity-deps.js';

export function makeReleaseCacheHolds(deps: Pick<ActivityDeps, 'cache' | 'logger'>) {
  return async function releaseCacheHolds(): Promise<number> {
    const run = Context.current().info.workflowExecution;
    if (!run) return 0;
    const released = deps.cache.release(run.runId);
    // A download this run gave up (out of retries, cancelled) and nobody else holds leaves nothing.
    await deps.cache.discardAbandoned();
    deps.logger.debug({ workflowId: run.workflowId, released }, 'cache holds released');
    return released;
  };
}
