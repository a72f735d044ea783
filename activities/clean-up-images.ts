/**
 * Activities of the cloud clean-up (`collectGarbage`): list what ImageProxy registered at the
 * site, and deregister one image if it is still unrequested and unused — checked again right
 * before deregistering, since a request or an instance may have come since the list.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../common/errors.js';
import type { CleanUpAction, ListedImage } from '../common/clean-up-contract.js';
import type { ActivityDeps } from './activity-deps.js';
import type { SiteBackend } from './sites/site-backend.js';

export function makeCleanUpActivities(deps: Pick<ActivityDeps, 'backend' | 'logger'>) {
  const { backend } = deps;

  return {
    async listRegisteredImages(): Promise<ListedImage[]> {
      const images = await listOf(backend);
      return images.map((i) => ({
        guid: i.guid,
        ids: i.ids,
        registeredAt: i.registeredAt.toISOString(),
        lastRequestedAt: i.lastRequestedAt.toISOString(),
      }));
    },

    async deregisterIfUnused({ guid, cutoff, dryRun }: { guid: string; cutoff: string; dryRun: boolean }): Promise<CleanUpAction> {
      const image = (await listOf(backend)).find((i) => i.guid === guid);
      if (!image) return 'deregistered'; // gone already
      if (image.lastRequestedAt.getTime() >= Date.parse(cutoff)) return 'kept-requested';
      if (!backend.inUse) throw notSupported(backend, 'inUse');
      if (await backend.inUse(guid)) return 'kept-in-use';
      if (dryRun) return 'would-deregister';
      await backend.deregister(guid);
      deps.logger.info({ site: backend.site, guid, ids: image.ids, lastRequestedAt: image.lastRequestedAt }, 'clean-up deregistered an unused image');
      return 'deregistered';
    },
  };
}

async function listOf(backend: SiteBackend) {
  if (!backend.listImages) throw notSupported(backend, 'listImages');
  return backend.listImages();
}

function notSupported(backend: SiteBackend, capability: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.Misconfigured,
    nonRetryable: true,
    message: `site ${backend.site}: the ${backend.type} backend cannot ${capability}, so its images are never cleaned up`,
  });
}
