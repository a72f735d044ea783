/** `imageproxy deregister GUID`: remove an image from a site (a deregisterImage run by that site's workers). */
import type { Command } from 'commander';
import type { DeregisterImageResult } from '../../../common/distribute-contract.js';
import type { CliContext } from '../cli-context.js';

/** `--json`: the workflow's result and `deregistered: true`. */
export type DeregisterJson = DeregisterImageResult & { deregistered: true };

export function defineDeregisterCommand(program: Command, ctx: CliContext): void {
  program
    .command('deregister')
    .description("remove an image from a site (a deregisterImage workflow run by that site's workers)")
    .argument('<guid>')
    .option('--site <name>', 'site (default: the config default)')
    .option('--json', 'print JSON')
    .action(async (guid: string, opts: { site?: string; json?: boolean }) => {
      const site = await ctx.siteOrDefault(opts.site);
      const { withClient } = await import('../with-client.js');
      const result = await withClient(ctx.io, (client) => client.deregister(guid, site));
      if (opts.json) ctx.printJson({ ...result, deregistered: true } satisfies DeregisterJson);
      else ctx.print(`${guid} removed from ${site}`);
    });
}
