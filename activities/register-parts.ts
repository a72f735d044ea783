/** Activities that talk to the site: lookup and register, through the site's backend. */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ErrorType } from '../common/errors.js';
import type { CachedPart, ImageIds } from '../common/image-types.js';
import type { NodeOutcome } from '../common/provision-contract.js';
import type { ActivityDeps } from './activity-deps.js';
import { countRegistration } from './metrics/image-proxy-metrics.js';

export function makeSiteActivities(deps: Pick<ActivityDeps, 'backend' | 'cacheSpace' | 'hostQueue' | 'logger' | 'rawImageOf'>) {
  return {
    /** Which host serves this run's downloads and registration: the one that picked this task. */
    async claimHost(): Promise<string> {
      return deps.hostQueue;
    },

    /**
     * The ids the site holds now for `guid`, or null. Every request passes here, so a found image
     * is recorded as requested now (for the clean-up), and its parts in this host's cache count as
     * used now (for eviction).
     */
    async lookupImage({ guid }: { guid: string }): Promise<ImageIds | null> {
      const ids = await deps.backend.lookup(guid);
      if (!ids) return null;
      countRegistration(deps.backend.site, 'already_registered');
      // Bookkeeping for the clean-up must not fail the request (the warning says the record is stale).
      await deps.backend.markRequested?.(guid, new Date()).catch((err: unknown) =>
        deps.logger.warn({ guid, site: deps.backend.site, err: (err as Error).message }, 'could not record the request at the site'),
      );
      deps.cacheSpace.touchImage(guid);
      return ids;
    },

    async registerParts({ guid, url, parts }: { guid: string; url: string; parts: CachedPart[] }): Promise<ImageIds> {
      const ctx = Context.current();
      for (const part of parts) deps.cacheSpace.touch(part.hash); // a registration reusing a file is a use
      let ids: ImageIds;
      try {
        ids = await deps.backend.register({
          guid,
          metadataUrl: url,
          parts,
          rawImageOf: deps.rawImageOf,
          onProgress: (detail) => ctx.heartbeat(detail),
          signal: ctx.cancellationSignal,
        });
      } catch (err) {
        // Counted once: a retryable fault is tried again and counted by the attempt that ends it.
        if (err instanceof ApplicationFailure && err.nonRetryable) countRegistration(deps.backend.site, 'failed');
        throw err;
      }
      const missing = parts.filter((p) => !ids[p.type === 'ZFILESYSTEM' ? 'FILESYSTEM' : p.type]);
      if (missing.length > 0) {
        countRegistration(deps.backend.site, 'failed');
        // Never answer an empty id as success (the legacy service did).
        throw ApplicationFailure.create({
          type: ErrorType.SiteRejected,
          nonRetryable: true,
          message: `site ${deps.backend.site} answered no id for ${missing.map((p) => p.type).join(', ')}`,
        });
      }
      countRegistration(deps.backend.site, 'registered');
      deps.logger.info({ guid, site: deps.backend.site, ids }, 'registered');
      return ids;
    },

    /** Boot `nodes` from the site's image of `guid` (a backend that can: xCAT). */
    async provisionNodes({ guid, nodes }: { guid: string; nodes: string[] }): Promise<Record<string, NodeOutcome>> {
      const { backend } = deps;
      if (!backend.provision) {
        throw ApplicationFailure.create({
          type: ErrorType.SiteRejected,
          nonRetryable: true,
          message: `site ${backend.site} (type ${backend.type}) has no nodes to provision; only xcat sites do`,
        });
      }
      const outcomes = await backend.provision(guid, nodes);
      deps.logger.info({ guid, site: backend.site, outcomes }, 'provisioned nodes');
      return outcomes;
    },

    async deregisterImage({ guid }: { guid: string }): Promise<void> {
      await deps.backend.deregister(guid);
      deps.logger.info({ guid, site: deps.backend.site }, 'deregistered');
    },
  };
}
