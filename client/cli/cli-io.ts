/**
 * What a command may touch of its process: output streams, environment and the exit code. The
 * entry passes the real process; tests pass buffers, so every command runs in process.
 */

/** Documented exit codes (docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  /** Some sites or nodes failed, others succeeded. */
  PartlyFailed: 2,
  /** The command line or the request is wrong (EX_USAGE); nothing was started. */
  Usage: 64,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliIo {
  /** Writes text to standard output (the answer). */
  out(text: string): void;
  /** Writes text to standard error (progress, messages). */
  err(text: string): void;
  /** Whether standard error is a terminal (progress bars, human log lines). */
  errIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Resolves on the first SIGINT or SIGTERM (foreground commands stop then). */
  untilStopped(): Promise<void>;
}

/** The command line or a request names something that does not exist or is malformed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The real process as a `CliIo`. */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    errIsTTY: process.stderr.isTTY === true,
    env: process.env,
    untilStopped: () =>
      new Promise((resolveStop) => {
        process.once('SIGINT', () => resolveStop());
        process.once('SIGTERM', () => resolveStop());
      }),
  };
}
