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

/** Why seeding should stop now, or undefined to keep seeding. */
export function seedingStopReason(state: SeedingState, policy: BittorrentConfig['seeding'], now: number): string | undefined {
  if (policy.maxSeconds === 0 || policy.maxRatio === 0) return 'seeding is off';
  const seconds = (now - state.finishedAt) / 1000;
  if (seconds >= policy.maxSeconds) return `seeded for ${Math.round(seconds)} s (limit ${policy.maxSeconds} s)`;
  const ratio = state.length > 0 ? state.uploaded / state.length : 0;
  if (ratio >= policy.maxRatio) return `uploaded ${ratio.toFixed(2)} times its size (limit ${policy.maxRatio})`;
  return undefined;
}
