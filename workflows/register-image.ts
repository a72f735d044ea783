/**
 * registerImage: make one image (named by its metadata URL and GUID) registered at one site.
 *
 * One run per (site, GUID) — the workflow id is `registerWorkflowId(site, guid)` — so concurrent
 * callers attach to the same run and the image is downloaded and registered once. The site is the
 * truth: every run starts by asking the site whether it already has the image, so a closed run's
 * result is never trusted over what the site holds now.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  patched,
  TimeoutFailure,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createHostQueueActivities, createSiteQueueActivities } from '../activities/index.js';
import type { ImageIds, ImagePart } from '../common/image-types.js';
import { ErrorType } from '../common/errors.js';
import { guidProblem, isSiteName } from '../common/guid.js';
import { siteTaskQueue } from '../common/naming.js';
import { downloadSummary, fileNameOf, hostOf, registerCurrentDetails, registerPartsSummary, shortGuid, type PartState } from '../common/run-descriptions.js';
import {
  ImageGuidKey,
  ImageSiteKey,
  ImageStageKey,
  progressQuery,
  type RegisterImageInput,
  type RegisterMode,
  type RegisterImageResult,
  type RegisterProgress,
  type Stage,
} from '../common/register-contract.js';
import { MAX_URL_CHARS, urlForDisplay } from '../common/url-for-display.js';
import { ACTIVITY_RETRY, RETRY_BY_TIME } from '../common/retry-policies.js';
import { retryingSignal } from '../common/retry-notice.js';
import { awaitTurn, IMAGE_TURN_PATCH } from './await-turn.js';

type SiteActivities = ReturnType<typeof createSiteQueueActivities>;
type HostActivities = ReturnType<typeof createHostQueueActivities>;

/** Faults that may get better are retried for the config's `retryFor` (common/retry-policies.ts). */
const retry = RETRY_BY_TIME;

export async function registerImage(input: RegisterImageInput): Promise<RegisterImageResult> {
  return runImage(input, 'register');
}

/**
 * prefetchImage: fetch and verify the parts of an image into a site's cache ahead of need, and
 * register nothing (workflow id `prefetchWorkflowId(site, guid)`). The parts land in the cache of
 * the host that took the run; a later registration served by that host finds them there.
 */
export async function prefetchImage(input: RegisterImageInput): Promise<RegisterImageResult> {
  return runImage(input, 'prefetch');
}

async function runImage(input: RegisterImageInput, mode: RegisterMode): Promise<RegisterImageResult> {
  const problem = requestProblem(input);
  if (problem) {
    throw ApplicationFailure.create({ type: ErrorType.InvalidRequest, nonRetryable: true, message: problem });
  }
  const { url, guid, site } = input;
  const state: RegisterProgress = { stage: 'lookup', parts: [] };
  // What the Temporal UI shows as the run's current details (Markdown), rewritten at each step.
  let partStates: PartState[] = [];
  let alreadyRegistered = false;
  const showDetails = (): void =>
    setCurrentDetails(
      registerCurrentDetails({
        stage: state.stage,
        site,
        parts: partStates,
        alreadyRegistered,
        ...(state.ids ? { ids: state.ids } : {}),
        ...(state.error ? { error: state.error } : {}),
        ...(state.waiting ? { waiting: state.waiting } : {}),
        ...(state.retrying ? { retrying: state.retrying } : {}),
      }),
    );
  // What is being retried, by activity (and part): told by the activities (common/retry-notice.ts).
  const retrying = new Map<string, string>();
  const showRetrying = (): void => {
    if (retrying.size > 0) state.retrying = [...retrying.values()].join('; ');
    else delete state.retrying;
  };
  const retried = (key: string): void => {
    retrying.delete(key);
    showRetrying();
  };
  setHandler(retryingSignal, ({ key, text }) => {
    retrying.set(key, text);
    showRetrying();
    showDetails();
  });
  const setStage = (stage: Stage): void => {
    retrying.clear(); // what a stage retried is over once the next one begins
    showRetrying();
    state.stage = stage;
    upsertSearchAttributes([{ key: ImageStageKey, value: stage }]);
    showDetails();
  };
  setHandler(progressQuery, () => state);
  upsertSearchAttributes([
    { key: ImageGuidKey, value: guid },
    { key: ImageSiteKey, value: site },
    { key: ImageStageKey, value: 'lookup' },
  ]);
  upsertMemo({ url: urlForDisplay(url), guid, site, mode });
  showDetails();

  // Short calls that any worker of the site may serve. They heartbeat from a timer, so a worker
  // that dies under one costs the heartbeat timeout, not the 5 minutes.
  const onSite = proxyActivities<SiteActivities>({
    taskQueue: siteTaskQueue(site),
    startToCloseTimeout: '5m',
    heartbeatTimeout: '15s',
    retry,
  });

  try {
    // One operation at a time per (site, GUID): a deregistration or provisioning asked before this
    // run finishes first. A prefetch does not touch the site and takes no turn.
    if (mode === 'register' && patched(IMAGE_TURN_PATCH)) {
      await awaitTurn(site, guid, (waiting) => {
        if (waiting) state.waiting = waiting;
        else delete state.waiting;
        showDetails();
      });
    }
    // A prefetch is for the cache: whether the site holds the image does not matter to it.
    const existing =
      mode === 'register' ? await onSite.lookupImage.executeWithOptions({ summary: `ask ${site} whether it holds ${shortGuid(guid)}` }, [{ guid }]) : null;
    if (existing) {
      state.ids = existing;
      alreadyRegistered = true;
      setStage('done');
      return { guid, site, ids: existing, alreadyRegistered: true };
    }

    setStage('metadata');
    const parts = await onSite.fetchMetadata.executeWithOptions({ summary: `fetch and verify ${fileNameOf(url)} from ${hostOf(url)}` }, [{ url, guid }]);
    state.parts = parts.map((p) => ({ type: p.type, url: p.url, bytesDone: 0 }));
    partStates = parts.map((p) => ({ type: p.type, url: urlForDisplay(p.url), hash: p.hash }));
    showDetails();
    upsertMemo({ parts: parts.map((p) => ({ type: p.type, url: urlForDisplay(p.url), hash: `${p.hash.algorithm}:${p.hash.hex}` })) });

    // Download and register on one host, so registration reads the files the download wrote.
    // A host that vanishes for good (its tasks wait unpicked) is given up for another.
    for (let claim = 1; ; claim++) {
      const hostQueue = await onSite.claimHost.executeWithOptions({ summary: `claim a host of ${site} for download and registration` }, []);
      try {
        const { ids, sizes, from } = await downloadAndRegister(hostQueue, parts);
        state.ids = ids;
        setStage('done');
        return { guid, site, ids, alreadyRegistered: false, ...(mode === 'prefetch' ? { prefetched: sizes } : {}), ...(Object.keys(from).length > 0 ? { from } : {}) };
      } catch (err) {
        if (claim < MAX_HOST_CLAIMS && hostVanished(err)) continue;
        throw err;
      } finally {
        await releaseCacheHolds(hostQueue);
      }
    }
  } catch (err) {
    state.error = failureMessage(err);
    setStage('failed');
    throw err;
  }

  /** Download on one host, then register there (a prefetch stops after the download). */
  async function downloadAndRegister(
    hostQueue: string,
    parts: ImagePart[],
  ): Promise<{ ids: ImageIds; sizes: Record<string, number>; from: NonNullable<RegisterImageResult['from']> }> {
    const onHost = proxyActivities<HostActivities>({
      taskQueue: hostQueue,
      scheduleToStartTimeout: HOST_PICKUP_TIMEOUT,
      startToCloseTimeout: '24h',
      heartbeatTimeout: '30s',
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry,
    });
    setStage('download');
    const cached = await allOrNothing(
      parts.map((part) => async () => {
        const got = await onHost.downloadPart.executeWithOptions({ summary: downloadSummary(part) }, [{ guid, part, ...(input.fleet ? { fleet: input.fleet } : {}) }]);
        partStates = partStates.map((p) => (p.type === got.type ? { ...p, size: got.size, ...(got.from ? { from: got.from } : {}) } : p));
        retried(`downloadPart ${got.type}`);
        // Bytes in flight are in the activity's heartbeats (client: status); a finished part is known here.
        const known = state.parts.find((p) => p.type === got.type);
        if (known) known.bytesDone = known.bytesTotal = got.size;
        showDetails();
        return got;
      }),
    );
    const sizes = Object.fromEntries(cached.map((c) => [c.type, c.size]));
    const from = Object.fromEntries(cached.flatMap((c) => (c.from ? [[c.type, c.from]] : [])));
    upsertMemo({ sizes });
    if (mode === 'prefetch') return { ids: {}, sizes, from };
    setStage('register');
    const ids = await onHost.registerParts.executeWithOptions({ summary: registerPartsSummary(cached, site) }, [{ guid, url, parts: cached }]);
    return { ids, sizes, from };
  }
}

/**
 * The run is done with the host's cache: what it held may be evicted again. Runs even when the
 * run failed or was cancelled. A host that is gone is not waited for: its worker releases the
 * holds of ended runs itself (checked against Temporal) when it comes back.
 */
async function releaseCacheHolds(hostQueue: string): Promise<void> {
  const onHost = proxyActivities<HostActivities>({
    taskQueue: hostQueue,
    // Seconds, not a minute: a dead host's holds are released by its worker's own sweep.
    scheduleToStartTimeout: '10s',
    startToCloseTimeout: '30s',
    retry: ACTIVITY_RETRY.releaseCacheHolds,
  });
  await CancellationScope.nonCancellable(() => onHost.releaseCacheHolds.executeWithOptions({ summary: 'release this run\'s holds on the host cache' }, [])).catch(
    () => undefined,
  );
}

/**
 * Run tasks together; if one fails, cancel the others and wait until they have cleaned up, so a
 * failed run leaves no transfer behind.
 */
async function allOrNothing<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const scope = new CancellationScope();
  let running: Promise<T>[] = [];
  try {
    return await scope.run(() => {
      running = tasks.map((task) => task());
      return Promise.all(running);
    });
  } catch (err) {
    scope.cancel();
    await Promise.allSettled(running);
    throw err;
  }
}

/** How long a host's task may wait for that host before the run moves to another host. */
const HOST_PICKUP_TIMEOUT = '15m';
const MAX_HOST_CLAIMS = 3;

/** The message of the innermost failure: it says what went wrong, the outer layers say where. */
function failureMessage(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) message = e.message;
  return message;
}

function hostVanished(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

function requestProblem(input: RegisterImageInput): string | undefined {
  if (typeof input !== 'object' || input === null) return 'registerImage needs {url, guid, site}';
  const guid = guidProblem(input.guid);
  if (guid) return guid;
  if (!isSiteName(input.site)) return `site must be a site name from the config, got ${JSON.stringify(input.site)}`;
  if (typeof input.url !== 'string' || input.url.length === 0) return 'url of the metadata file is missing';
  if (input.url.length > MAX_URL_CHARS) return `url ${urlForDisplay(input.url)} is ${input.url.length} characters, more than the ${MAX_URL_CHARS} allowed`;
  return undefined;
}
