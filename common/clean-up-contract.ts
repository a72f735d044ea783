/**
 * The contract of the `collectGarbage` workflow: the scheduled clean-up of cloud images that have
 * not been requested for a while and that nothing uses. Workflow-safe.
 */
import type { ImageIds } from './image-types.js';

export interface CollectGarbageInput {
  site: string;
  /** Images not requested for this many days (fractions allowed) are candidates. */
  olderThanDays?: number;
  /**
   * Instead of `olderThanDays`: images not requested since this time (ISO 8601) are candidates,
   * an absolute cutoff ("nothing asked for since the last refresh"). Give exactly one of the two.
   */
  notRequestedSince?: string;
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

const DAY_MS = 86_400_000;

/**
 * The cutoff of a clean-up as an ISO time, from exactly one of `olderThanDays` (> 0) or
 * `notRequestedSince` (a time not after `nowMs`), or the reason the input is not usable.
 */
export function cleanUpCutoff(input: Pick<CollectGarbageInput, 'olderThanDays' | 'notRequestedSince'>, nowMs: number): { cutoff: string } | { problem: string } {
  const { olderThanDays, notRequestedSince } = input;
  if (olderThanDays !== undefined && notRequestedSince !== undefined) return { problem: 'give olderThanDays or notRequestedSince, not both' };
  if (notRequestedSince !== undefined) {
    const at = typeof notRequestedSince === 'string' ? Date.parse(notRequestedSince) : NaN;
    if (Number.isNaN(at)) return { problem: `notRequestedSince is not a time: ${JSON.stringify(notRequestedSince)}` };
    if (at > nowMs) return { problem: `notRequestedSince ${notRequestedSince} is in the future` };
    return { cutoff: new Date(at).toISOString() };
  }
  if (typeof olderThanDays !== 'number' || !(olderThanDays > 0)) {
    return { problem: `olderThanDays must be a number > 0, got ${JSON.stringify(olderThanDays)}` };
  }
  return { cutoff: new Date(nowMs - olderThanDays * DAY_MS).toISOString() };
}
