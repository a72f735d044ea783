/**
 * The contract of the `collectGarbage` workflow: the scheduled clean-up of cloud images that have
 * not been requested for a while and that nothing uses. Workflow-safe.
 */
import type { ImageIds } from './image-types.js';

export interface CollectGarbageInput {
  site: string;
  /** Images not requested for this many days (fractions allowed) are candidates. */
  olderThanDays: number;
  /** Only report what would be deregistered. @default false */
  dryRun?: boolean;
}

/** What the clean-up did with one image that had not been requested since the cutoff. */
export type CleanUpAction = 'deregistered' | 'would-deregister' | 'kept-in-use' | 'kept-requested' | 'failed';

export interface CleanUpOutcome {
  guid: string;
  ids: ImageIds;
  /** ISO time of the last request the site recorded. */
  lastRequestedAt: string;
  action: CleanUpAction;
  /** Why a deregistration failed. */
  error?: string;
}

export interface CollectGarbageResult {
  site: string;
  dryRun: boolean;
  /** ISO time: images last requested before it were candidates. */
  cutoff: string;
  /** How many images ImageProxy had registered at the site. */
  imagesSeen: number;
  /** One line per candidate (images requested since the cutoff are not listed). */
  outcomes: CleanUpOutcome[];
}

/** An image as the site lists it, with times as ISO strings (they cross the activity boundary). */
export interface ListedImage {
  guid: string;
  ids: ImageIds;
  registeredAt: string;
  lastRequestedAt: string;
}
