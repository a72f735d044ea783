/**
 * Activity (site queue): which host serves this run's download and registration — the one whose
 * site worker picked this task, answered as its per-host task queue.
 */
import type { ActivityDeps } from './activity-deps.js';
import { heartbeatWhile } from './heartbeat-while.js';

export function makeClaimHost(deps: Pick<ActivityDeps, 'hostQueue'>) {
  return async function claimHost(): Promise<string> {
    return heartbeatWhile(() => Promise.resolve(deps.hostQueue)); // heartbeats like every site activity
  };
}
