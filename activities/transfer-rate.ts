/**
 * The recent rate of a transfer, from samples of its byte count: the bytes over the last window
 * (default 10 s), so a stall shows as a falling rate and a resumed transfer does not count the
 * bytes it started with. Pure (the caller passes the clock).
 */
export class TransferRate {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  /** Record `bytes` done at `at` (ms) and answer bytes per second over the window, once two samples span time. */
  sample(at: number, bytes: number): number | undefined {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    if (at <= first.at) return undefined;
    return Math.max(0, Math.round(((bytes - first.bytes) * 1000) / (at - first.at)));
  }
}
