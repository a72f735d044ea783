/**
 * `imageproxy dev`: the embedded default in the foreground: a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set), a worker for every site and the SOAP/JSON front.
 */
import type { Command } from 'commander';
import { hostIdFrom } from '../../../config/load-config.js';
import type { ImageProxyClient } from '../../image-proxy-client.js';
import type { HttpFront } from '../../http-front/server.js';
import type { CliContext } from '../cli-context.js';
import { processLogger } from '../process-logger.js';
import { addHttpOptions, frontUrls, startFront, type FrontUrls, type HttpOptions } from '../start-front.js';

export function defineDevCommand(program: Command, ctx: CliContext): void {
  addHttpOptions(
    program
      .command('dev')
      .description('start a Temporal dev server (unless TEMPORAL_ADDRESS is set), a worker for every site and the SOAP/JSON front; stays in the foreground')
      .option('--port <port>', 'Temporal gRPC port', '7233')
      .option('--ui-port <port>', 'Temporal UI port', '8233')
      .option('--metrics-port <port>', 'serve Prometheus metrics on this port (default: off)')
      .option('--no-http', 'do not start the SOAP/JSON front')
      .option('--json', 'once ready, print where everything listens as one JSON object'),
  ).action((opts: DevOptions) => runDev(ctx, opts));
}

type DevOptions = { port: string; uiPort: string; metricsPort?: string; json?: boolean } & HttpOptions;

/** `--json`, printed once everything runs. */
export interface DevJson {
  temporal: { address: string; namespace: string; ui?: string };
  metrics?: string;
  front?: FrontUrls;
  sites: string[];
  dataDir: string;
}

async function runDev(ctx: CliContext, opts: DevOptions): Promise<void> {
  const { dataDir, config, configDir } = await ctx.loadConfig();
  const { env: processEnv } = ctx.io;
  const logger = await processLogger(ctx);
  const [{ startDevEnvironment }, { temporalSettings }] = await Promise.all([import('../../../workers/dev-environment.js'), import('../../temporal-connection.js')]);
  const env = await startDevEnvironment({
    config,
    configDir,
    dataDir,
    hostId: hostIdFrom(processEnv),
    logger,
    port: Number(opts.port),
    uiPort: Number(opts.uiPort),
    settings: temporalSettings({ env: processEnv }),
    ...(opts.metricsPort !== undefined ? { metricsPort: Number(opts.metricsPort) } : {}),
  });
  if (!opts.json) {
    ctx.print(`Temporal: ${env.address} (namespace ${env.namespace})`);
    if (env.uiUrl) ctx.print(`Temporal UI: ${env.uiUrl}`);
    if (env.metricsUrl) ctx.print(`Metrics: ${env.metricsUrl}`);
  }
  let front: HttpFront | undefined;
  let client: ImageProxyClient | undefined;
  try {
    if (opts.http) {
      const { ImageProxyClient: Client } = await import('../../image-proxy-client.js');
      client = await Client.connect({ settings: env.settings });
      front = await startFront(ctx.io, { ...opts, quiet: opts.json === true }, { config, configDir, client, logger });
    }
  } catch (err) {
    await client?.close();
    await env.stop();
    throw err;
  }
  const sites = env.workers.map((w) => w.site);
  if (opts.json) {
    const ready: DevJson = {
      temporal: { address: env.address, namespace: env.namespace, ...(env.uiUrl ? { ui: env.uiUrl } : {}) },
      ...(env.metricsUrl ? { metrics: env.metricsUrl } : {}),
      ...(front ? { front: frontUrls(front) } : {}),
      sites,
      dataDir,
    };
    ctx.printJson(ready);
  } else ctx.print(`Sites: ${sites.join(', ')}; data in ${dataDir}. Ctrl-C stops.`);
  await env.done;
  await front?.close();
  await client?.close();
  await env.stop();
}
