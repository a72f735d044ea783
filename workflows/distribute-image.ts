/**
 * distributeImage: make one image registered (or prefetched) at many sites in one call.
 *
 * Each site gets its own `registerImage` (or `prefetchImage`) run, started as a child workflow on
 * the site's task queue, so only that site's workers (which hold its credentials) do its work.
 * The child keeps the per-site workflow id (`imageproxy/<site>/<guid>`), so a distribution, a
 * plain `register` and an ORCA call for the same (site, GUID) all share one run.
 *
 * Attaching: a child cannot be started with the id of a run that someone else started (Temporal
 * has no USE_EXISTING for children: the start fails with "already started"). Then the
 * `awaitRegistration` activity attaches to that run through the client and waits for its result,
 * heartbeating. Either way there is one run per (site, GUID).
 *
 * Fan-out (docs/fleet.md): the first site starts at once; the others start as soon as a host
 * reports itself as a source of a part (or the first site is done, or FIRST_SOURCE_WAIT passed),
 * and take the part from the hosts already fetching it; the origin is their fallback. This run is
 * the coordinator: hosts report through `fleetSourceSignal` (a few signals per host, however long
 * the download) and learn their peers through `fleetSourcesQuery` (no history). The parts stay
 * held in the caches of the hosts that reported until this run releases them at its end.
 *
 * Sites do not fail each other: each outcome is recorded, and the workflow completes with all of
 * them. Asking again (a new run under the same id) re-asks every site; a site that holds the image
 * answers at once from its lookup, so only the failed sites do work again.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createHostQueueActivities, createSiteQueueActivities } from '../activities/index.js';
import type { DistributeImageInput, DistributeImageResult, SiteOutcome } from '../common/distribute-contract.js';
import { distributeProgressQuery } from '../common/distribute-contract.js';
import { ErrorType } from '../common/errors.js';
import { fleetSourceSignal, fleetSourcesQuery, type FleetRef, type PartSources } from '../common/fleet-contract.js';
import { guidProblem, isSiteName } from '../common/guid.js';
import { prefetchWorkflowId, registerWorkflowId, siteTaskQueue } from '../common/naming.js';
import { ImageGuidKey, ImageStageKey, type RegisterImageInput, type RegisterImageResult } from '../common/register-contract.js';
import { MAX_URL_CHARS, urlForDisplay } from '../common/url-for-display.js';
import { imageRunText, shortGuid } from '../common/run-descriptions.js';

type SiteActivities = ReturnType<typeof createSiteQueueActivities>;
type HostActivities = ReturnType<typeof createHostQueueActivities>;

const DAY_MS = 24 * 3600 * 1000;
/** The later sites wait at most this long for a first source before they start anyway. */
const FIRST_SOURCE_WAIT = '2m';

const attach = proxyActivities<SiteActivities>({
  startToCloseTimeout: '25h',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '1m', nonRetryableErrorTypes: [ErrorType.InvalidRequest, ErrorType.SiteRejected] },
});

export async function distributeImage(input: DistributeImageInput): Promise<DistributeImageResult> {
  const problem = requestProblem(input);
  if (problem) throw ApplicationFailure.create({ type: ErrorType.InvalidRequest, nonRetryable: true, message: problem });
  const { url, guid } = input;
  const mode = input.mode ?? 'register';
  const sites = [...new Set(input.sites)];
  const timeoutMs = input.siteTimeoutMs ?? DAY_MS;

  const outcomes = new Map<string, SiteOutcome>();
  setHandler(distributeProgressQuery, () => ({ guid, mode, pending: sites.filter((s) => !outcomes.has(s)), done: [...outcomes.values()] }));
  upsertSearchAttributes([
    { key: ImageGuidKey, value: guid },
    { key: ImageStageKey, value: 'distributing' },
  ]);
  upsertMemo({ url: urlForDisplay(url), guid, sites, mode });
  // The Temporal UI's current details: which sites are done, with their ids or reasons.
  const showDetails = (): void => {
    const lines = [`**${outcomes.size} of ${sites.length} sites finished**`, ''];
    for (const site of sites) {
      const o = outcomes.get(site);
      let shown = 'running';
      if (o?.ok) shown = `done${o.alreadyRegistered ? ' (already registered)' : ''}: ${Object.entries(o.ids).map(([k, v]) => `${k}=\`${v}\``).join(', ')}`;
      else if (o) shown = `failed: ${o.error}`;
      lines.push(`- **${site}**: ${shown}`);
    }
    setCurrentDetails(lines.join('\n'));
  };
  showDetails();

  const info = workflowInfo();
  const fleet: FleetRef = { workflowId: info.workflowId, runId: info.runId };
  const sources = new Map<string, PartSources>();
  const hostQueues = new Set<string>();
  setHandler(fleetSourceSignal, (report) => {
    hostQueues.add(report.hostQueue);
    const part = sources.get(report.part) ?? { peers: [] };
    if (report.peer !== undefined && !part.peers.includes(report.peer)) part.peers.push(report.peer);
    part.pieces ??= report.pieces;
    sources.set(report.part, part);
  });
  setHandler(fleetSourcesQuery, (part) => sources.get(part) ?? { peers: [] });

  async function oneSite(site: string): Promise<SiteOutcome> {
    const workflowId = mode === 'prefetch' ? prefetchWorkflowId(site, guid) : registerWorkflowId(site, guid);
    const request: RegisterImageInput = { url, guid, site, fleet };
    const run = async (): Promise<RegisterImageResult> => {
      try {
        const child = await startChild<(i: RegisterImageInput) => Promise<RegisterImageResult>>(
          mode === 'prefetch' ? 'prefetchImage' : 'registerImage',
          {
            args: [request],
            workflowId,
            taskQueue: siteTaskQueue(site),
            // The site's run is shared with other callers: it outlives this distribution.
            parentClosePolicy: 'ABANDON',
            cancellationType: 'ABANDON',
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
            ...imageRunText({ url, guid, sites: [site], mode }),
          },
        );
        return await child.result();
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        return attach.awaitRegistration.executeWithOptions({ summary: `wait for the ${mode} of ${shortGuid(guid)} at ${site} that another caller started` }, [
          { ...request, mode },
        ]);
      }
    };
    try {
      const result = await withTimeout(run(), timeoutMs);
      if (result === undefined) {
        return { site, ok: false, workflowId, error: `site ${site} did not finish within ${timeoutMs} ms (its run goes on; ask again to attach)` };
      }
      return { site, ok: true, workflowId, ids: result.ids, alreadyRegistered: result.alreadyRegistered, ...(result.from ? { from: result.from } : {}) };
    } catch (err) {
      return { site, ok: false, workflowId, error: `site ${site}: ${reasonOf(err)}` };
    }
  }

  const startSite = async (site: string): Promise<SiteOutcome> => {
    const outcome = await oneSite(site);
    outcomes.set(site, outcome);
    showDetails();
    return outcome;
  };
  let results: SiteOutcome[];
  try {
    const [first, ...rest] = sites as [string, ...string[]];
    const firstOutcome = startSite(first);
    await condition(() => sources.size > 0 || outcomes.has(first), FIRST_SOURCE_WAIT);
    results = await Promise.all([firstOutcome, ...rest.map(startSite)]);
  } finally {
    await releaseFleetHolds([...hostQueues]);
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.site);
  upsertSearchAttributes([{ key: ImageStageKey, value: failed.length === 0 ? 'done' : 'failed' }]);
  upsertMemo({ failed });
  return { guid, mode, sites: results, failed };
}

/** The hosts that served this distribution may evict its parts again (each releases this run's holds). */
async function releaseFleetHolds(hostQueues: string[]): Promise<void> {
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      hostQueues.map((taskQueue) =>
        proxyActivities<HostActivities>({ taskQueue, scheduleToStartTimeout: '1m', startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } })
          .releaseCacheHolds()
          .catch(() => undefined), // a host that is gone releases them itself when it checks its holders
      ),
    ),
  );
}

/** The value of `work`, or undefined when `ms` pass first (the work is not cancelled). */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new CancellationScope();
  const expired = timer.run(() => sleep(ms)).then(
    () => undefined,
    (err: unknown) => {
      if (isCancellation(err)) return undefined;
      throw err;
    },
  );
  try {
    return await Promise.race([work, expired]);
  } finally {
    timer.cancel();
  }
}

/** The deepest application failure says what went wrong; the layers above only say where. */
function reasonOf(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ChildWorkflowFailure || e instanceof ActivityFailure) continue;
    message = e.message;
    if (e instanceof ApplicationFailure && !(e.cause instanceof ApplicationFailure)) break;
  }
  return message;
}

function requestProblem(input: DistributeImageInput): string | undefined {
  if (typeof input !== 'object' || input === null) return 'distributeImage needs {url, guid, sites}';
  const guid = guidProblem(input.guid);
  if (guid) return guid;
  if (typeof input.url !== 'string' || input.url.length === 0) return 'url of the metadata file is missing';
  if (input.url.length > MAX_URL_CHARS) return `url ${urlForDisplay(input.url)} is ${input.url.length} characters, more than the ${MAX_URL_CHARS} allowed`;
  if (!Array.isArray(input.sites) || input.sites.length === 0) return 'sites: at least one site is needed';
  const bad = input.sites.find((s) => !isSiteName(s));
  if (bad !== undefined) return `not a site name: ${JSON.stringify(bad)}`;
  if (input.mode !== undefined && input.mode !== 'register' && input.mode !== 'prefetch') return `mode must be register or prefetch, got ${JSON.stringify(input.mode)}`;
  return undefined;
}
