/** `imageproxy gc`: run the clean-up of a site's cloud images now (or as a dry run). */
import type { Command } from 'commander';
import type { CollectGarbageInput } from '../../../common/clean-up-contract.js';
import type { CliContext } from '../cli-context.js';
import { ExitCode, UsageError } from '../cli-io.js';

interface GcOptions {
  site?: string;
  olderThanDays?: string;
  notRequestedSince?: string;
  dryRun?: boolean;
  json?: boolean;
}

export function defineGcCommand(program: Command, ctx: CliContext): void {
  program
    .command('gc')
    .description('run the clean-up of cloud images now: deregister images not requested for N days and not in use')
    .option('--site <name>', 'site (default: the config default)')
    .option('--older-than-days <days>', 'days without a request (default: gc.olderThanDays in the config)')
    .option('--not-requested-since <time>', 'instead: images not requested since this ISO 8601 time')
    .option('--dry-run', 'only list what would be deregistered')
    .option('--json', 'print the result as JSON')
    .action((opts: GcOptions) => runGc(ctx, opts));
}

async function runGc(ctx: CliContext, opts: GcOptions): Promise<void> {
  const { config } = await ctx.loadConfig();
  const site = await ctx.siteOrDefault(opts.site);
  const dryRun = opts.dryRun === true;
  let input: CollectGarbageInput;
  if (opts.notRequestedSince !== undefined) {
    if (opts.olderThanDays !== undefined) throw new UsageError('gc takes --older-than-days or --not-requested-since, not both');
    input = { site, notRequestedSince: opts.notRequestedSince, dryRun };
  } else {
    const olderThanDays = opts.olderThanDays !== undefined ? Number(opts.olderThanDays) : config.gc?.olderThanDays;
    if (olderThanDays === undefined || !(olderThanDays > 0)) {
      throw new UsageError('gc needs --older-than-days N (a number > 0), --not-requested-since TIME or gc.olderThanDays in the config');
    }
    input = { site, olderThanDays, dryRun };
  }
  const { withClient } = await import('../with-client.js');
  const result = await withClient(ctx.io, (client) => client.collectGarbage(input));
  if (opts.json) ctx.printJson(result);
  else {
    ctx.print(`${result.site}: ${result.imagesSeen} images, ${result.outcomes.length} not requested since ${result.cutoff}${result.dryRun ? ' (dry run)' : ''}`);
    for (const o of result.outcomes) ctx.print(`  ${o.guid}  ${o.action.padEnd(16)} last requested ${o.lastRequestedAt}${o.error ? `: ${o.error}` : ''}`);
  }
  const failed = result.outcomes.filter((o) => o.action === 'failed').length;
  if (failed > 0) ctx.fail(failed === result.outcomes.length ? ExitCode.Failed : ExitCode.PartlyFailed);
}
