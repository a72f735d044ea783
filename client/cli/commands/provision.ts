/** `imageproxy provision GUID --node N…`: boot bare-metal nodes of a site from an image registered there. */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { ExitCode, UsageError } from '../cli-io.js';

export function defineProvisionCommand(program: Command, ctx: CliContext): void {
  program
    .command('provision')
    .description('boot bare-metal nodes of a site from an image registered there (xCAT: nodeset <nodes> osimage=<name>)')
    .argument('<guid>')
    .option('--site <name>', 'site (default: the config default)')
    .option('--node <name>', 'a node to provision (repeat for more)', (v: string, all: string[] = []) => [...all, v])
    .option('--json', 'print JSON')
    .action(async (guid: string, opts: { site?: string; node?: string[]; json?: boolean }) => {
      const site = await ctx.siteOrDefault(opts.site);
      const nodes = opts.node ?? [];
      if (nodes.length === 0) throw new UsageError('provision needs at least one --node NAME');
      const { withClient } = await import('../with-client.js');
      const result = await withClient(ctx.io, (client) => client.provisionNodes(guid, site, nodes));
      if (opts.json) ctx.printJson(result);
      else for (const [node, o] of Object.entries(result.nodes)) ctx.print(`${node}: ${o.ok ? 'ok' : 'FAILED'}  ${o.detail}`);
      if (result.failed.length > 0) ctx.fail(result.failed.length === nodes.length ? ExitCode.Failed : ExitCode.PartlyFailed);
    });
}
