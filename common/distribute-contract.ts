/**
 * The contract of the `distributeImage` and `deregisterImage` workflows. Workflow-safe.
 */
import { defineQuery } from '@temporalio/workflow';
import type { ImageIds } from './image-types.js';
import type { RegisterImageResult, RegisterMode } from './register-contract.js';

export interface DistributeImageInput {
  /** URL of the image metadata file. */
  url: string;
  /** SHA-1 of the metadata file, 40 lowercase hex digits. */
  guid: string;
  /** Sites to register (or prefetch) at; each runs on its own task queue, by its own workers. */
  sites: string[];
  /** `prefetch`: fill each site's cache, register nothing. @default 'register' */
  mode?: RegisterMode;
  /**
   * How long to wait for one site before reporting it as failed (the site's run goes on; asking
   * again attaches to it). @default 24 hours
   */
  siteTimeoutMs?: number;
}

/** The outcome at one site. */
export type SiteOutcome =
  | { site: string; ok: true; ids: ImageIds; alreadyRegistered: boolean; workflowId: string; from?: RegisterImageResult['from'] }
  | { site: string; ok: false; error: string; workflowId: string };

export interface DistributeImageResult {
  guid: string;
  mode: RegisterMode;
  /** One entry per requested site, in the order asked. */
  sites: SiteOutcome[];
  /** Names of the sites that failed (empty when all succeeded). */
  failed: string[];
}

export interface DeregisterImageInput {
  guid: string;
  site: string;
}

export interface DeregisterImageResult {
  guid: string;
  site: string;
}

/** Where a distribution stands: the sites still running and the outcomes so far. */
export interface DistributeProgress {
  guid: string;
  mode: RegisterMode;
  pending: string[];
  done: SiteOutcome[];
}

export const distributeProgressQuery = defineQuery<DistributeProgress>('distributeProgress');
