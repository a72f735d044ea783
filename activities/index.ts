/**
 * The activities of one site's workers, built from their dependencies (see workers/site-worker.ts),
 * in two sets registered on two task queues: the site's queue (any worker of the site may serve
 * them) and this host's queue (they share files on this host's disk). Each worker registers only
 * its own set, so a call sent to the wrong queue fails (NotFoundError) instead of running on a
 * host without the files. Every activity throws the `ImageProxyError`s of the layers below as
 * `ApplicationFailure`s (application-failure-of.ts): nothing below this folder's files imports
 * Temporal. Workflows import only the types of these factories, so no activity code enters the
 * workflow bundle.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './activity-deps.js';
import { applicationFailureOf, failingAsApplicationFailures } from './application-failure-of.js';
import { makeAwaitRegistration } from './await-registration.js';
import { makeClaimHost } from './claim-host.js';
import { makeCleanUpActivities } from './clean-up-images.js';
import { makeDeregisterImage } from './deregister-image.js';
import { makeDownloadPart } from './download-part.js';
import { makeLookupImage } from './lookup-image.js';
import { makeFetchMetadata } from './fetch-metadata.js';
import { makeAwaitRunsClosed, makeFindRunsAhead } from './image-turn.js';
import { countRegistration, timeStage, type Stage } from './metrics/image-proxy-metrics.js';
import { makeProvisionNodes } from './provision-nodes.js';
import { makeRegisterParts } from './register-parts.js';
import { retriedFor } from './retry-for.js';
import { withRetryNotice } from './notify-retry.js';
import { makeReleaseCacheHolds } from './release-cache-holds.js';

/** Activities of the site's task queue: short calls any worker of the site may serve. */
export function createSiteQueueActivities(deps: ActivityDeps) {
  const bounded = <A extends unknown[], R>(activity: (...args: A) => Promise<R>) => withRetryNotice(deps.temporal, retriedFor(deps.retryForMs, activity));
  return failingAsApplicationFailures({
    claimHost: bounded(makeClaimHost(deps)),
    lookupImage: bounded(timed(deps, 'lookup', makeLookupImage(deps))),
    fetchMetadata: failsRegistration(deps, bounded(timed(deps, 'metadata', makeFetchMetadata(deps)))),
    awaitRegistration: makeAwaitRegistration(deps),
    findRunsAhead: makeFindRunsAhead(deps),
    awaitRunsClosed: makeAwaitRunsClosed(deps),
    provisionNodes: bounded(makeProvisionNodes(deps)),
    deregisterImage: bounded(makeDeregisterImage(deps)),
    ...makeCleanUpActivities(deps),
  });
}

/** Activities of this host's task queue: they read and write this host's cache. */
export function createHostQueueActivities(deps: ActivityDeps) {
  return failingAsApplicationFailures({
    // Bounds its own retries: its progress restarts the clock.
    downloadPart: withRetryNotice(deps.temporal, failsRegistration(deps, timed(deps, 'download', makeDownloadPart(deps)))),
    registerParts: withRetryNotice(deps.temporal, retriedFor(deps.retryForMs, timed(deps, 'register', makeRegisterParts(deps)))),
    releaseCacheHolds: makeReleaseCacheHolds(deps),
  });
}

/** The activity of a stage, timed for the metrics (imageproxy_stage_seconds). */
function timed<A extends unknown[], R>(deps: ActivityDeps, stage: Stage, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => timeStage(deps.backend.site, stage, () => fn(...args));
}

/**
 * A final failure of this stage ends the registration: counted as a failed one (registerParts
 * counts its own), so a wrong signature shows in imageproxy_registrations_total too.
 */
function failsRegistration<A extends unknown[], R>(deps: ActivityDeps, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (thrown) {
      const err = applicationFailureOf(thrown);
      if (err instanceof ApplicationFailure && err.nonRetryable) countRegistration(deps.backend.site, 'failed');
      throw err;
    }
  };
}

export type SiteQueueActivities = ReturnType<typeof createSiteQueueActivities>;
export type HostQueueActivities = ReturnType<typeof createHostQueueActivities>;
export type { ActivityDeps } from './activity-deps.js';
