/** What the client answers about runs: their status, lists of runs, and what is missing where. */
import type { ImageIds } from '../common/image-types.js';
import type { Stage } from '../common/register-contract.js';
import type { LiveProgress } from './live-progress.js';

export interface ImageStatus {
  guid: string;
  site: string;
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, … */
  status: string;
  /** The run's stage, or `deregistered` when a deregistration completed after it. */
  stage: Stage | 'deregistered' | undefined;
  /** When the image was removed from the site after this registration. */
  deregisteredAt?: Date;
  /** While running: the parts, with bytes, rate and ETA from their downloads' heartbeats. */
  progress?: LiveProgress;
  /** While an activity's fault is being retried: "retrying: <last error> (attempt N, next in T)". */
  retrying?: string;
  ids?: ImageIds;
  error?: string;
  startTime: Date;
  closeTime?: Date;
}

/** Workflow types ImageProxy runs. */
export type WorkflowTypeName = 'registerImage' | 'prefetchImage' | 'distributeImage' | 'deregisterImage' | 'provisionNodes';

export interface DistributeRequest {
  url: string;
  guid: string;
  sites: string[];
  /** Site whose workers run the distribution itself (usually the config's default site). */
  coordinatorSite: string;
  /** @default 'register' */
  mode?: 'register' | 'prefetch';
  /** See `DistributeImageInput.siteTimeoutMs`. */
  siteTimeoutMs?: number;
}

export interface MissingReport {
  guid: string;
  present: string[];
  missing: string[];
}

export interface ListedRun {
  type: string;
  guid: string;
  site: string;
  stage: string | undefined;
  status: string;
  workflowId: string;
  runId: string;
  startTime: Date;
  closeTime?: Date;
}
