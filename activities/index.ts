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
import { makeSiteActivities } from './register-parts.js';

export function createActivities(deps: ActivityDeps) {
  return {
    fetchMetadata: makeFetchMetadata(deps),
    downloadPart: makeDownloadPart(deps),
    awaitRegistration: makeAwaitRegistration(deps),
    releaseCacheHolds: makeReleaseCacheHolds(deps),
    ...makeSiteActivities(deps),
    ...makeCleanUpActivities(deps),
  };
}

export type { ActivityDeps } from './activity-deps.js';
