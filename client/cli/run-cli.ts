/**
 * The `imageproxy` command line: global options, one module per command (`commands/`), and the
 * mapping of outcomes to the documented exit codes. `runCli` runs in process: tests call it with
 * buffers for stdout and stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliContext, type GlobalOptions } from './cli-context.js';
import { ExitCode, processIo, UsageError, type CliIo } from './cli-io.js';
import { defineDemoCommand } from './commands/demo.js';
import { defineDeregisterCommand } from './commands/deregister.js';
import { defineDevCommand } from './commands/dev.js';
import { defineGcCommand } from './commands/gc.js';
import { defineListCommand } from './commands/list.js';
import { defineProvisionCommand } from './commands/provision.js';
import { defineRegisterCommand } from './commands/register.js';
import { defineServeCommand } from './commands/serve.js';
import { defineSetupCommand } from './commands/setup.js';
import { defineStatusCommand } from './commands/status.js';
import { defineWorkerCommand } from './commands/worker.js';

/** Errors that mean "the request is wrong": by name, so the client module need not be loaded to tell. */
const USAGE_ERRORS = new Set(['UsageError', 'InvalidRequestError', 'RegistrationRunningError', 'ConfigError']);

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('imageproxy')
    .description('Register guest images at cloud sites, exactly once, on Temporal')
    .addOption(new Option('--config <file>', 'configuration file (default: $IMAGEPROXY_CONFIG or <data>/config.json)'))
    .addOption(new Option('--data-dir <dir>', 'data directory (default: $IMAGEPROXY_DATA_DIR or ./.imageproxy)'))
    .addOption(new Option('--log-format <format>', 'log lines: human or json (default: human on a terminal, else json)').choices(['human', 'json']))
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) });
  for (const define of [
    defineDevCommand,
    defineServeCommand,
    defineWorkerCommand,
    defineSetupCommand,
    defineRegisterCommand,
    defineDeregisterCommand,
    defineProvisionCommand,
    defineStatusCommand,
    defineListCommand,
    defineGcCommand,
    defineDemoCommand,
  ]) {
    define(program, ctx);
  }
  return program; // commands inherit exitOverride and the output streams
}

/** Run the command line `argv` (without node and the script) and answer the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let program: Command | undefined;
  const ctx = new CliContext(io, () => program?.opts<GlobalOptions>() ?? {});
  program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are answers; anything else commander refused is a usage error (it printed why).
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    const name = err instanceof Error ? err.name : '';
    const code = err instanceof UsageError || USAGE_ERRORS.has(name) ? ExitCode.Usage : ExitCode.Failed;
    io.err(`imageproxy: ${message}\n`);
    if (argv.includes('--json')) io.out(`${JSON.stringify({ error: { message, exitCode: code } })}\n`);
    return code;
  }
}
