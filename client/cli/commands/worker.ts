/** `imageproxy worker`: run the workers of some sites against TEMPORAL_ADDRESS, in the foreground. */
import type { Command } from 'commander';
import { hostIdFrom } from '../../../config/load-config.js';
import type { CliContext } from '../cli-context.js';
import { processLogger } from '../process-logger.js';

export function defineWorkerCommand(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run the workers of some sites against TEMPORAL_ADDRESS')
    .option('--site <name...>', 'sites to serve (default: all in the config)')
    .option('--json', 'once serving, print {"sites":[…]} on stdout')
    .action(async (opts: { site?: string[]; json?: boolean }) => {
      const { dataDir, config, configDir } = await ctx.loadConfig();
      const sites = opts.site ? await ctx.knownSites(opts.site) : undefined;
      const logger = await processLogger(ctx);
      const { startWorkers } = await import('../../../workers/dev-environment.js');
      const { workers, done } = await startWorkers({
        config,
        configDir,
        dataDir,
        hostId: hostIdFrom(ctx.io.env),
        logger,
        address: ctx.io.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
        namespace: ctx.io.env.TEMPORAL_NAMESPACE ?? 'default',
        ...(sites ? { sites } : {}),
      });
      ctx.io.err(`serving sites ${workers.map((w) => w.site).join(', ')}\n`);
      if (opts.json) ctx.printJson({ sites: workers.map((w) => w.site) });
      await done;
    });
}
