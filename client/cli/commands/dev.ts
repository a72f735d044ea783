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
import { addHttpOptions, startFront, type HttpOptions } from '../start-front.js';

export function defineDevCommand(program: Command, ctx: CliContext): void {
  addHttpOptions(
    program
      .command('dev')
      .description('start a Temporal dev server (unless TEMPORAL_ADDRESS is set), a worker for every site and the SOAP/JSON front; stays in the foreground')
      .option('--port <port>', 'Temporal gRPC port', '7233')
      .option('--ui-port <port>', 'Temporal UI port', '8233')
      .option('--no-http', 'do not start the SOAP/JSON front'),
  ).action((opts: { port: string; uiPort: string } & HttpOptions) => runDev(ctx, opts));
}

async function runDev(ctx: CliContext, opts: { port: string; uiPort: string } & HttpOptions): Promise<void> {
  const { dataDir, config, configDir } = await ctx.loadConfig();
  const { env: processEnv } = ctx.io;
  const logger = await processLogger(ctx);
  const { startDevEnvironment } = await import('../../../workers/dev-environment.js');
  const env = await startDevEnvironment({
    config,
    configDir,
    dataDir,
    hostId: hostIdFrom(processEnv),
    logger,
    port: Number(opts.port),
    uiPort: Number(opts.uiPort),
    ...(processEnv.TEMPORAL_ADDRESS ? { address: processEnv.TEMPORAL_ADDRESS } : {}),
    ...(processEnv.TEMPORAL_NAMESPACE ? { namespace: processEnv.TEMPORAL_NAMESPACE } : {}),
  });
  ctx.print(`Temporal: ${env.address} (namespace ${env.namespace})`);
  if (env.uiUrl) ctx.print(`Temporal UI: ${env.uiUrl}`);
  let front: HttpFront | undefined;
  let client: ImageProxyClient | undefined;
  try {
    if (opts.http) {
      const { ImageProxyClient: Client } = await import('../../image-proxy-client.js');
      client = await Client.connect({ address: env.address, namespace: env.namespace });
      front = await startFront(ctx.io, opts, { config, configDir, client, logger });
    }
  } catch (err) {
    await client?.close();
    await env.stop();
    throw err;
  }
  ctx.print(`Sites: ${env.workers.map((w) => w.site).join(', ')}; data in ${dataDir}. Ctrl-C stops.`);
  await env.done;
  await front?.close();
  await client?.close();
  await env.stop();
}
