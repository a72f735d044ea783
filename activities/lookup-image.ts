/**
 * Activity (site queue): the ids the site holds now for `guid`, or null. Every request passes here,
 * so a found image is recorded as requested now (for the clean-up), and its parts in this host's
 * cache count as used now (for eviction).
 */
import type { ImageIds } from '../common/image-types.js';
import type { ActivityDeps } from './activity-deps.js';
import { heartbeatWhile } from './heartbeat-while.js';
import { countRegistration } from './metrics/image-proxy-metrics.js';

export function makeLookupImage(deps: Pick<ActivityDeps, 'backend' | 'cache' | 'logger'>) {
  return async function lookupImage({ guid }: { guid: string }): Promise<ImageIds | null> {
    const ids = await heartbeatWhile(() => deps.backend.lookup(guid));
    if (!ids) return null;
    countRegistration(deps.backend.site, 'already_registered');
    // Bookkeeping for the clean-up must not fail the request (the warning says the record is stale).
    await deps.backend.markRequested?.(guid, new Date()).catch((err: unknown) =>
      deps.logger.warn({ guid, site: deps.backend.site, err: (err as Error).message }, 'could not record the request at the site'),
    );
    deps.cache.touchImage(guid);
    return ids;
  };
}
