/** A pause between looks at a running operation that its end can cut short (progress pollers). */
export interface CutShortPause {
  /** Waits `ms`, or less once `cut` is called. */
  pause(ms: number): Promise<void>;
  /** Ends the pause under way, if any. */
  cut(): void;
}

export function cutShortPause(): CutShortPause {
  let wake: (() => void) | undefined;
  return {
    pause: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    cut: () => wake?.(),
  };
}
