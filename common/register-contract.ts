/**
 * The contract of the `registerImage` workflow: input, result, progress, query and
 * search attributes. Clients, workers and the workflow import it from here. Workflow-safe.
 */
import { defineQuery } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { FleetRef } from './fleet-contract.js';
import type { ImageIds, PartSource, PartType } from './image-types.js';

export interface RegisterImageInput {
  /** URL of the image metadata file (http, https; BitTorrent where a transport for it is configured). */
  url: string;
  /** SHA-1 of the metadata file, 40 lowercase hex digits. */
  guid: string;
  /** Name of the site (as in the config) where the image is registered. */
  site: string;
  /** Set by `distributeImage`: the run that coordinates the hosts fetching from each other. */
  fleet?: FleetRef;
}

/**
 * `register` runs the `registerImage` workflow; `prefetch` runs `prefetchImage` (same input, own
 * workflow type and id): fetch and verify the parts into the site's cache, register nothing.
 */
export type RegisterMode = 'register' | 'prefetch';

export interface RegisterImageResult {
  guid: string;
  site: string;
  ids: ImageIds;
  /** True when the site already had the image and nothing was downloaded or registered. */
  alreadyRegistered: boolean;
  /** Present on a prefetch: the parts now in the cache of the host that fetched them, bytes by type. */
  prefetched?: Partial<Record<PartType, number>>;
  /** Where the host took each part from (absent when the site already held the image). */
  from?: Partial<Record<PartType, PartSource>>;
}

/** Where a registration stands; also the value of the `ImageStage` search attribute. */
export const STAGES = ['lookup', 'metadata', 'download', 'register', 'done', 'failed'] as const;
/** `ImageStage` of a deregistration run: `deregistering`, then `deregistered` (or `failed`). */
export const DEREGISTER_STAGES = ['deregistering', 'deregistered', 'failed'] as const;
export type Stage = (typeof STAGES)[number];

export interface PartProgress {
  type: PartType;
  url: string;
  bytesDone: number;
  /** Unknown until the origin says (e.g. no Content-Length yet). */
  bytesTotal?: number;
}

/**
 * What the `progress` query answers. The workflow knows a part's bytes once it is downloaded;
 * bytes in flight come from the download activities' heartbeats, which `getStatus` merges in
 * (client/live-progress.ts): a progress signal would add history events for as long as a
 * download runs.
 */
export interface RegisterProgress {
  stage: Stage;
  parts: PartProgress[];
  ids?: ImageIds;
  error?: string;
  /** Set while the run waits for an operation on the same (site, GUID) asked before it (common/image-turn.ts). */
  waiting?: string;
  /** Set while an activity is retried: `retrying: <activity>: <last error> (attempt N, next in T s)` (common/retry-notice.ts). */
  retrying?: string;
}

export const progressQuery = defineQuery<RegisterProgress>('progress');

/** Search attributes (all Keyword) that the Temporal UI and `imageproxy list` filter on. */
export const ImageGuidKey = defineSearchAttributeKey('ImageGuid', SearchAttributeType.KEYWORD);
export const ImageSiteKey = defineSearchAttributeKey('ImageSite', SearchAttributeType.KEYWORD);
export const ImageStageKey = defineSearchAttributeKey('ImageStage', SearchAttributeType.KEYWORD);
/**
 * The run's one-line summary, set when it starts. The UI's workflow list shows search attributes as
 * columns but not the summary itself (user metadata is on each run's page only).
 */
export const ImageSummaryKey = defineSearchAttributeKey('ImageSummary', SearchAttributeType.KEYWORD);

/** Names to register on a Temporal server (`temporal server start-dev --search-attribute NAME=Keyword`). */
export const SEARCH_ATTRIBUTE_NAMES = ['ImageGuid', 'ImageSite', 'ImageStage', 'ImageSummary'] as const;
