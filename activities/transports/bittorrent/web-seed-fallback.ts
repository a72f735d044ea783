/**
 * When a torrent's web seeds (BEP 19, usually the image's origin) are used: as a fallback, not as a
 * parallel source at full speed. Peers are asked first; the web seeds are added when peers deliver
 * too little for a while (none found, none with the pieces, stalled, or gone), and removed again
 * once peers deliver enough. A torrent with no way to find peers uses its web seeds at once. Pure.
 */

export interface WebSeedPolicy {
  /**
   * How long peers may deliver less than `peerFloorBytesPerSecond` before the web seeds are added
   * (also the head start peers get when a download begins). 0: web seeds always on, beside peers.
   */
  fallbackAfterMs: number;
  /** Peers delivering at least this much (averaged over `fallbackAfterMs`) are enough. */
  peerFloorBytesPerSecond: number;
}

/** One observation of a download, taken every second or so. */
export interface WebSeedSample {
  /** Now, in ms (any monotonic clock). */
  at: number;
  /** Bytes received from BitTorrent peers since the download began (never from web seeds). */
  peerBytes: number;
}

export interface WebSeedInput {
  policy: WebSeedPolicy;
  /** When the download began (same clock as the samples). */
  startedAt: number;
  /** Whether peers can be found at all: trackers, DHT or LSD on, or peers given by address. */
  canFindPeers: boolean;
  /** Recent samples, oldest first; the newest is now. */
  samples: readonly WebSeedSample[];
}

/** Whether the web seeds should be in use now. */
export function webSeedsWanted(input: WebSeedInput): boolean {
  const { policy, samples } = input;
  if (policy.fallbackAfterMs === 0 || !input.canFindPeers) return true;
  const now = samples.at(-1);
  if (!now) return false;
  // Peers get a head start.
  if (now.at - input.startedAt < policy.fallbackAfterMs) return false;
  // The window itself damps flapping: a switch either way needs a whole window of evidence.
  return peerRate(samples, now.at - policy.fallbackAfterMs) < policy.peerFloorBytesPerSecond;
}

/** Peer bytes per second since `since` (from the oldest sample at or before it). */
function peerRate(samples: readonly WebSeedSample[], since: number): number {
  const now = samples.at(-1)!;
  let from = samples[0]!;
  for (const s of samples) if (s.at <= since) from = s;
  const seconds = (now.at - from.at) / 1000;
  return seconds > 0 ? (now.peerBytes - from.peerBytes) / seconds : 0;
}

/** Drops samples older than needed for the next decision (keeps one at or before the window). */
export function trimSamples(samples: WebSeedSample[], policy: WebSeedPolicy): void {
  const since = (samples.at(-1)?.at ?? 0) - policy.fallbackAfterMs;
  while (samples.length > 2 && samples[1]!.at <= since) samples.shift();
}
