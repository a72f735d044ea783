/** `imageproxy list`: registrations known to Temporal visibility, or per GUID the sites missing it (`--missing`). */
import type { Command } from 'commander';
import { normalizeGuid } from '../../../common/guid.js';
import type { CliContext } from '../cli-context.js';

interface ListOptions {
  site?: string;
  guid?: string;
  all?: boolean;
  missing?: boolean;
  json?: boolean;
}

export function defineListCommand(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('list registrations known to Temporal visibility (across all workers)')
    .option('--site <name>', 'only this site')
    .option('--guid <sha1>', 'only this GUID')
    .option('--all', 'also prefetch, distribution and deregistration runs')
    .option('--missing', 'per GUID, the configured sites that do not hold it (drift)')
    .option('--json', 'print JSON')
    .action((opts: ListOptions) => runList(ctx, opts));
}

async function runList(ctx: CliContext, opts: ListOptions): Promise<void> {
  const { config } = await ctx.loadConfig();
  if (opts.site !== undefined) await ctx.knownSites([opts.site]);
  const { withClient } = await import('../with-client.js');
  await withClient(ctx.io, async (client) => {
    if (opts.missing) {
      const sites = opts.site ? [opts.site] : Object.keys(config.sites);
      let report = await client.missing(sites);
      if (opts.guid) report = report.filter((r) => r.guid === normalizeGuid(opts.guid!));
      if (opts.json) ctx.printJson(report);
      else for (const r of report) ctx.print(`${r.guid}  missing at: ${r.missing.join(', ') || '(none)'}  present at: ${r.present.join(', ') || '(none)'}`);
      return;
    }
    const runs = await client.list({
      ...(opts.site ? { site: opts.site } : {}),
      ...(opts.guid ? { guid: opts.guid } : {}),
      ...(opts.all ? { types: ['registerImage', 'prefetchImage', 'distributeImage', 'deregisterImage'] as const } : {}),
    });
    if (opts.json) ctx.printJson(runs);
    else for (const r of runs) ctx.print(`${r.guid}  ${r.site || '-'}  ${r.type.padEnd(15)} ${r.status.padEnd(10)} ${r.stage ?? ''}  ${r.startTime.toISOString()}`);
  });
}
