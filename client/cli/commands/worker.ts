/** `imageproxy worker`: run the workers of some sites against TEMPORAL_ADDRESS, in the foreground. */
import type { Command } from 'commander';
import { hostIdFrom } from '../../../config/load-config.js';
import type { CliContext } from '../cli-context.js';
import { processLogger } from '../process-logger.js';

interface WorkerOptions {
  site?: string[];
  metricsPort?: string;
  metricsHost: string;
  shutdownGrace: string;
  json?: boolean;
}

export function defineWorkerCommand(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run the workers of some sites against the Temporal cluster of TEMPORAL_ADDRESS or the profile (TLS, API key: docs/production.md)')
    .option('--site <name...>', 'sites to serve (default: all in the config)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (default: off)')
    .option('--metrics-host <host>', 'address the metrics are served on', '127.0.0.1')
    .option('--shutdown-grace <duration>', 'after SIGTERM, how long running transfers may go on before they stop (they resume on the next worker)', '30s')
    .option('--json', 'once serving, print {"sites":[…]} on stdout')
    .action(async (opts: WorkerOptions) => {
      const { dataDir, config, configDir } = await ctx.loadConfig();
      const sites = opts.site ? await ctx.knownSites(opts.site) : undefined;
      const logger = await processLogger(ctx);
      const [{ startWorkers }, { describeSettings, temporalSettings }] = await Promise.all([
        import('../../../workers/dev-environment.js'),
        import('../../temporal-connection.js'),
      ]);
      const settings = temporalSettings({ env: ctx.io.env });
      const { workers, done, deployment, metricsUrl } = await startWorkers({
        config,
        configDir,
        dataDir,
        hostId: hostIdFrom(ctx.io.env),
        logger,
        settings,
        shutdownGraceTime: opts.shutdownGrace,
        ...(sites ? { sites } : {}),
        ...(opts.metricsPort !== undefined ? { metricsPort: Number(opts.metricsPort), metricsHost: opts.metricsHost } : {}),
      });
      const names = workers.map((w) => w.site);
      ctx.io.err(
        `serving sites ${names.join(', ')} at ${describeSettings(settings)} as ${deployment.deploymentName} ${deployment.buildId}` +
          `${metricsUrl ? `; metrics at ${metricsUrl}` : ''}\n`,
      );
      if (opts.json) ctx.printJson({ sites: names, deployment: deployment.deploymentName, buildId: deployment.buildId, ...(metricsUrl ? { metrics: metricsUrl } : {}) });
      await done;
    });
}
