/**
 * Activity (site queue): which host serves this run's download and registration — the one whose
 * site worker picked this task, answered as its per-host task queue.
 */
import type { ActivityDeps } from './activity-deps.js';

export function makeClaimHost(deps: Pick<ActivityDeps, 'hostQueue'>) {
  return async function claimHost(): Promise<string> {
    return deps.hostQueue;
  };
}
