/** Activities that talk to the site: lookup and register, through the site's backend. */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ErrorType } from '../common/errors.js';
import type { CachedPart, ImageIds } from '../common/image-types.js';
import type { ActivityDeps } from './activity-deps.js';

export function makeSiteActivities(deps: Pick<ActivityDeps, 'backend' | 'hostQueue' | 'logger' | 'rawImageOf'>) {
  return {
    /** Which host serves this run's downloads and registration: the one that picked this task. */
    async claimHost(): Promise<string> {
      return deps.hostQueue;
    },

    /** The ids the site holds now for `guid`, or null. */
    async lookupImage({ guid }: { guid: string }): Promise<ImageIds | null> {
      return (await deps.backend.lookup(guid)) ?? null;
    },

    async registerParts({ guid, url, parts }: { guid: string; url: string; parts: CachedPart[] }): Promise<ImageIds> {
      const ctx = Context.current();
      const ids = await deps.backend.register({
        guid,
        metadataUrl: url,
        parts,
        rawImageOf: deps.rawImageOf,
        onProgress: (detail) => ctx.heartbeat(detail),
        signal: ctx.cancellationSignal,
      });
      const missing = parts.filter((p) => !ids[p.type === 'ZFILESYSTEM' ? 'FILESYSTEM' : p.type]);
      if (missing.length > 0) {
        // Never answer an empty id as success (the legacy service did).
        throw ApplicationFailure.create({
          type: ErrorType.SiteRejected,
          nonRetryable: true,
          message: `site ${deps.backend.site} answered no id for ${missing.map((p) => p.type).join(', ')}`,
        });
      }
      deps.logger.info({ guid, site: deps.backend.site, ids }, 'registered');
      return ids;
    },

    async deregisterImage({ guid }: { guid: string }): Promise<void> {
      await deps.backend.deregister(guid);
      deps.logger.info({ guid, site: deps.backend.site }, 'deregistered');
    },
  };
}
