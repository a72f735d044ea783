/**
 * The stall rule of a torrent download: an AbortSignal that fires when the request's signal does,
 * or when no new piece was verified for `timeoutMs` (then `stalled` is set, so the caller reports a
 * retryable interruption and keeps the verified pieces).
 */
export class StallWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastPieces = -1;
  stalled = false;
  private readonly onOuterAbort = (): void => this.controller.abort(this.outer?.reason);

  constructor(
    private readonly timeoutMs: number,
    private readonly outer: AbortSignal | undefined,
  ) {
    if (outer?.aborted) this.onOuterAbort();
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Record the count of verified pieces; any increase restarts the clock. */
  progress(piecesVerified: number): void {
    if (piecesVerified === this.lastPieces) return;
    this.lastPieces = piecesVerified;
    this.arm();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort(new Error('stalled'));
    }, this.timeoutMs);
  }
}
