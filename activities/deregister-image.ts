/** Activity (site queue): remove the site's image of `guid`; nothing to remove is not an error. */
import type { ActivityDeps } from './activity-deps.js';
import { heartbeatWhile } from './heartbeat-while.js';

export function makeDeregisterImage(deps: Pick<ActivityDeps, 'backend' | 'logger'>) {
  return async function deregisterImage({ guid }: { guid: string }): Promise<void> {
    await heartbeatWhile(() => deps.backend.deregister(guid));
    deps.logger.info({ guid, site: deps.backend.site }, 'deregistered');
  };
}
