/**
 * Activity (host queue): make the parts this host downloaded into an image at the site, through
 * the site's backend; heartbeats from a timer (with the backend's progress) and passes on cancellation.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../common/errors.js';
import type { CachedPart, ImageIds } from '../common/image-types.js';
import type { ActivityDeps } from './activity-deps.js';
import { applicationFailureOf } from './application-failure-of.js';
import { heartbeatWhile } from './heartbeat-while.js';
import { finalAfterRetryFor } from './retry-for.js';
import { countRegistration } from './metrics/image-proxy-metrics.js';

export function makeRegisterParts(deps: Pick<ActivityDeps, 'backend' | 'cache' | 'logger' | 'rawImageOf' | 'retryForMs'>) {
  return async function registerParts({ guid, url, parts }: { guid: string; url: string; parts: CachedPart[] }): Promise<ImageIds> {
    const ctx = Context.current();
    for (const part of parts) deps.cache.touch(part.hash); // a registration reusing a file is a use
    let ids: ImageIds;
    try {
      // The timer keeps heartbeating while the backend is silent (qemu-img convert, a slow S3 part).
      ids = await heartbeatWhile((beat) =>
        deps.backend.register({
          guid,
          metadataUrl: url,
          parts,
          // The cache and unpacking layers know no Temporal: lend them the heartbeat (their plain errors become ApplicationFailures below).
          rawImageOf: (part) => deps.rawImageOf(part, { heartbeat: beat, signal: ctx.cancellationSignal, firstScheduledMs: ctx.info.scheduledTimestampMs }),
          onProgress: beat,
          signal: ctx.cancellationSignal,
          isFinal: (failure) => isFinalFailure(failure, deps.retryForMs),
        }),
      );
    } catch (thrown) {
      const err = applicationFailureOf(thrown);
      // Counted once: a retryable fault is tried again, and the attempt that ends it counts.
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
  };
}

/**
 * Whether no attempt of this activity follows `failure`, so the backend may undo what it made.
 * Cancelled: final only when the run asked (it is ending); a worker shutdown or a heartbeat
 * time-out is followed by a retry that resumes from what this attempt left.
 */
function isFinalFailure(failure: unknown, retryForMs: number): boolean {
  const ctx = Context.current();
  if (ctx.cancellationSignal.aborted) return ctx.cancellationDetails?.cancelRequested === true;
  const decided = finalAfterRetryFor(failure, retryForMs);
  if (!(decided instanceof ApplicationFailure)) return false;
  return decided.nonRetryable === true || (decided.type !== undefined && decided.type !== null && (NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(decided.type));
}
