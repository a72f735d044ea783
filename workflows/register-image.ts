/**
 * registerImage: make one image (named by its metadata URL and GUID) registered at one site.
 *
 * One run per (site, GUID) — the workflow id is `registerWorkflowId(site, guid)` — so concurrent
 * callers attach to the same run and the image is downloaded and registered once. The site is the
 * truth: every run starts by asking the site whether it already has the image, so a closed run's
 * result is never trusted over what the site holds now.
 */
import {
  ApplicationFailure,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../common/errors.js';
import { guidProblem, isSiteName } from '../common/guid.js';
import { siteTaskQueue } from '../common/naming.js';
import {
  ImageGuidKey,
  ImageSiteKey,
  ImageStageKey,
  partProgressSignal,
  progressQuery,
  type RegisterImageInput,
  type RegisterImageResult,
  type RegisterProgress,
  type Stage,
} from '../common/register-contract.js';

type Activities = ReturnType<typeof createActivities>;

const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 8,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

export async function registerImage(input: RegisterImageInput): Promise<RegisterImageResult> {
  const problem = requestProblem(input);
  if (problem) {
    throw ApplicationFailure.create({ type: ErrorType.InvalidRequest, nonRetryable: true, message: problem });
  }
  const { url, guid, site } = input;
  const state: RegisterProgress = { stage: 'lookup', parts: [] };
  const setStage = (stage: Stage): void => {
    state.stage = stage;
    upsertSearchAttributes([{ key: ImageStageKey, value: stage }]);
  };
  setHandler(progressQuery, () => state);
  setHandler(partProgressSignal, (update) => {
    const part = state.parts.find((p) => p.type === update.type);
    if (part && update.bytesDone >= part.bytesDone) {
      part.bytesDone = update.bytesDone;
      if (update.bytesTotal !== undefined) part.bytesTotal = update.bytesTotal;
    }
  });
  upsertSearchAttributes([
    { key: ImageGuidKey, value: guid },
    { key: ImageSiteKey, value: site },
    { key: ImageStageKey, value: 'lookup' },
  ]);
  upsertMemo({ url, guid, site });

  // Short calls that any worker of the site may serve.
  const onSite = proxyActivities<Activities>({
    taskQueue: siteTaskQueue(site),
    startToCloseTimeout: '5m',
    retry,
  });

  try {
    const existing = await onSite.lookupImage({ guid });
    if (existing) {
      state.ids = existing;
      setStage('done');
      return { guid, site, ids: existing, alreadyRegistered: true };
    }

    setStage('metadata');
    const parts = await onSite.fetchMetadata({ url, guid });
    state.parts = parts.map((p) => ({ type: p.type, url: p.url, bytesDone: 0 }));
    upsertMemo({ parts: parts.map((p) => ({ type: p.type, url: p.url, hash: `${p.hash.algorithm}:${p.hash.hex}` })) });

    // Download and register on one host, so registration reads the files the download wrote.
    const hostQueue = await onSite.claimHost();
    const onHost = proxyActivities<Activities>({
      taskQueue: hostQueue,
      startToCloseTimeout: '24h',
      heartbeatTimeout: '30s',
      retry,
    });

    setStage('download');
    const cached = await Promise.all(parts.map((part) => onHost.downloadPart({ guid, part })));
    for (const c of cached) {
      const p = state.parts.find((x) => x.type === c.type);
      if (p) p.bytesDone = p.bytesTotal = c.size;
    }
    upsertMemo({ sizes: Object.fromEntries(cached.map((c) => [c.type, c.size])) });

    setStage('register');
    const ids = await onHost.registerParts({ guid, url, parts: cached });
    state.ids = ids;
    setStage('done');
    return { guid, site, ids, alreadyRegistered: false };
  } catch (err) {
    state.error = err instanceof Error ? err.message : String(err);
    setStage('failed');
    throw err;
  }
}

function requestProblem(input: RegisterImageInput): string | undefined {
  if (typeof input !== 'object' || input === null) return 'registerImage needs {url, guid, site}';
  const guid = guidProblem(input.guid);
  if (guid) return guid;
  if (!isSiteName(input.site)) return `site must be a site name from the config, got ${JSON.stringify(input.site)}`;
  if (typeof input.url !== 'string' || input.url.length === 0) return 'url of the metadata file is missing';
  return undefined;
}
