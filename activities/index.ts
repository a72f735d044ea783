/**
 * All activities of one site's worker, built from its dependencies (see workers/site-worker.ts).
 * Workflows import only the type of this factory, so no activity code enters the workflow bundle.
 */
import type { ActivityDeps } from './activity-deps.js';
import { makeAwaitRegistration } from './await-registration.js';
import { makeReleaseCacheHolds } from './cache/release-cache-holds.js';
import { makeCleanUpActivities } from './clean-up-images.js';
import { makeDownloadPart } from './download-part.js';
import { makeFetchMetadata } from './metadata/fetch-metadata.js';
import { timeStage, type Stage } from './metrics/image-proxy-metrics.js';
import { makeSiteActivities } from './register-parts.js';

export function createActivities(deps: ActivityDeps) {
  const site = deps.backend.site;
  // Each stage's activity is timed for the metrics (imageproxy_stage_seconds).
  const timed =
    <A extends unknown[], R>(stage: Stage, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      timeStage(site, stage, () => fn(...args));
  const siteActivities = makeSiteActivities(deps);
  return {
    fetchMetadata: timed('metadata', makeFetchMetadata(deps)),
    downloadPart: timed('download', makeDownloadPart(deps)),
    awaitRegistration: makeAwaitRegistration(deps),
    releaseCacheHolds: makeReleaseCacheHolds(deps),
    ...siteActivities,
    lookupImage: timed('lookup', siteActivities.lookupImage),
    registerParts: timed('register', siteActivities.registerParts),
    ...makeCleanUpActivities(deps),
  };
}

export type { ActivityDeps } from './activity-deps.js';
