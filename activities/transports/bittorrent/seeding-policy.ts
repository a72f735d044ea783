/** When a finished torrent stops being seeded. Pure. */
import type { BittorrentConfig } from '../../../config/config-schema.js';

export interface SeedingState {
  /** When the download finished (ms since the epoch). */
  finishedAt: number;
  /** Bytes uploaded to other peers so far. */
  uploaded: number;
  /** Size of the torrent's content. */
  length: number;
}

/**
 * Says whether a distribution still needs this host to serve the torrent `infoHash` (other sites
 * are still fetching it). Must be cheap and synchronous: it is asked every few seconds for every
 * seeding torrent. Never throws; unknown hashes answer false.
 */
export type SeedingNeededCheck = (infoHash: string) => boolean;

/**
 * Why seeding should stop now, or undefined to keep seeding. `stillNeeded` (a distribution still
 * has sites fetching it) overrides every limit, `maxSeconds`/`maxRatio` 0 included: the limits are
 * the operator's policy for seeding to the world, a distribution's own sites are served until it
 * says it is done; after that the limits apply as if there had been no hold (time and ratio still
 * count from the finish, so a torrent held past its limit stops at the next check).
 */
export function seedingStopReason(
  state: SeedingState,
  policy: BittorrentConfig['seeding'],
  now: number,
  stillNeeded = false,
): string | undefined {
  if (stillNeeded) return undefined;
  if (policy.maxSeconds === 0 || policy.maxRatio === 0) return 'seeding is off';
  const seconds = (now - state.finishedAt) / 1000;
  if (seconds >= policy.maxSeconds) return `seeded for ${Math.round(seconds)} s (limit ${policy.maxSeconds} s)`;
  const ratio = state.length > 0 ? state.uploaded / state.length : 0;
  if (ratio >= policy.maxRatio) return `uploaded ${ratio.toFixed(2)} times its size (limit ${policy.maxRatio})`;
  return undefined;
}

/** Any of `checks` holding `infoHash`; a check that throws counts as not needed. */
export function anyNeeds(checks: Iterable<SeedingNeededCheck>, infoHash: string): boolean {
  for (const check of checks) {
    try {
      if (check(infoHash)) return true;
    } catch {
      // A broken predicate must not keep a torrent forever nor stop the others' checks.
    }
  }
  return false;
}
