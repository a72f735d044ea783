/** A `CliIo` over buffers, to run `imageproxy` commands in process and read what they printed. */
import type { CliIo } from '../../client/cli/cli-io.js';
import { runCli } from '../../client/cli/run-cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `argv` in process. Foreground commands (`serve`, `dev`) stop when `opts.stop` resolves;
 * `opts.onOut` sees stdout as it grows.
 */
export async function runCliInProcess(
  argv: string[],
  env: NodeJS.ProcessEnv,
  opts: { tty?: boolean; stop?: Promise<void>; onOut?: (stdout: string) => void } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (t) => {
      stdout += t;
      opts.onOut?.(stdout);
    },
    err: (t) => (stderr += t),
    errIsTTY: opts.tty === true,
    env,
    untilStopped: () => opts.stop ?? new Promise(() => undefined),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
