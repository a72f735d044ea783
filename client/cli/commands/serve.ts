/** `imageproxy serve`: only the SOAP/JSON front, against TEMPORAL_ADDRESS (workers run elsewhere); foreground. */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { processLogger } from '../process-logger.js';
import { addHttpOptions, frontUrls, startFront, type HttpOptions } from '../start-front.js';

export function defineServeCommand(program: Command, ctx: CliContext): void {
  addHttpOptions(
    program
      .command('serve')
      .description('run only the SOAP/JSON front, against TEMPORAL_ADDRESS (workers run elsewhere); foreground')
      .option('--json', 'once listening, print the URLs as one JSON object ({"soap","json"})'),
  ).action(async (opts: HttpOptions & { json?: boolean }) => {
    const { config, configDir } = await ctx.loadConfig();
    const logger = await processLogger(ctx);
    const { withClient } = await import('../with-client.js');
    await withClient(ctx.io, async (client) => {
      const front = await startFront(ctx.io, { ...opts, quiet: opts.json === true }, { config, configDir, client, logger });
      if (opts.json) ctx.printJson(frontUrls(front));
      await ctx.io.untilStopped();
      await front.close();
    });
  });
}
