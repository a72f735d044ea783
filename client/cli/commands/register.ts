/**
 * `imageproxy register`: register an image at one site (answers its ids) or at several
 * (`--site a --site b`, `--all-sites`; answers one outcome per site). Sites are checked against
 * the config before anything starts.
 */
import type { Command } from 'commander';
import type { DistributeImageResult } from '../../../common/distribute-contract.js';
import type { RegisterImageResult } from '../../../common/register-contract.js';
import { defaultSiteOf } from '../../../config/load-config.js';
import { fromText } from '../../fleet-progress-line.js';
import type { CliContext } from '../cli-context.js';
import { ExitCode, UsageError } from '../cli-io.js';

interface RegisterOptions {
  url: string;
  guid: string;
  site: string[];
  allSites?: boolean;
  prefetch?: boolean;
  siteTimeout?: string;
  json?: boolean;
}

/** `--json` with one site. */
export interface RegisterJson {
  guid: string;
  site: string;
  ids: RegisterImageResult['ids'];
  alreadyRegistered: boolean;
  from?: RegisterImageResult['from'];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function defineRegisterCommand(program: Command, ctx: CliContext): void {
  program
    .command('register')
    .description('register an image at one site, or at many (--site a --site b, --all-sites), and print the ids')
    .requiredOption('--url <url>', 'URL of the image metadata file')
    .requiredOption('--guid <sha1>', 'SHA-1 of the metadata file')
    .option('--site <name>', 'site; repeat for several (default: the config default)', collect, [])
    .option('--all-sites', 'every site in the config')
    .option('--prefetch', "only fill the sites' caches; register nothing")
    .option('--site-timeout <seconds>', 'with several sites: report a site as failed after this long (its run goes on)')
    .option('--json', 'print one JSON object')
    .action((opts: RegisterOptions) => runRegister(ctx, opts));
}

export async function runRegister(ctx: CliContext, opts: RegisterOptions): Promise<void> {
  const { config } = await ctx.loadConfig();
  const defaultSite = defaultSiteOf(config);
  const sites = opts.allSites ? Object.keys(config.sites) : await ctx.knownSites(opts.site.length > 0 ? opts.site : [defaultSite]);
  const siteTimeoutMs = opts.siteTimeout === undefined ? undefined : Number(opts.siteTimeout) * 1000;
  if (siteTimeoutMs !== undefined && !(siteTimeoutMs > 0)) throw new UsageError(`--site-timeout must be a number of seconds > 0, got ${opts.siteTimeout}`);
  const { withClient } = await import('../with-client.js');
  await withClient(ctx.io, async (client) => {
    if (sites.length === 1 && !opts.allSites && !opts.prefetch) {
      const { registerShowingProgress } = await import('../register-progress.js');
      const request = { url: opts.url, guid: opts.guid, site: sites[0]! };
      const result = await registerShowingProgress(client, request, ctx.io, { plainLines: !opts.json });
      if (opts.json) {
        const answer: RegisterJson = { guid: result.guid, site: result.site, ids: result.ids, alreadyRegistered: result.alreadyRegistered, ...(result.from ? { from: result.from } : {}) };
        ctx.printJson(answer);
      } else {
        ctx.print(`${result.guid} at ${result.site}${result.alreadyRegistered ? ' (already registered)' : fromText(result.from)}:`);
        for (const [k, v] of Object.entries(result.ids)) ctx.print(`  ${k}=${v}`);
      }
      return;
    }
    const { distributeShowingProgress } = await import('../distribute-progress.js');
    const request = {
      url: opts.url,
      guid: opts.guid,
      sites,
      coordinatorSite: defaultSite,
      mode: opts.prefetch ? ('prefetch' as const) : ('register' as const),
      ...(siteTimeoutMs !== undefined ? { siteTimeoutMs } : {}),
    };
    const result = await distributeShowingProgress(client, request, ctx.io, { plainLines: !opts.json });
    if (opts.json) ctx.printJson(result);
    else ctx.print(formatDistribution(result));
    if (result.failed.length > 0) ctx.fail(result.failed.length === result.sites.length ? ExitCode.Failed : ExitCode.PartlyFailed);
  });
}

export function formatDistribution(r: DistributeImageResult): string {
  const lines = [`${r.guid}${r.mode === 'prefetch' ? ' (prefetch)' : ''}: ${r.sites.length - r.failed.length} of ${r.sites.length} sites ok`];
  for (const s of r.sites) {
    if (!s.ok) lines.push(`  ${s.site}: FAILED: ${s.error}`);
    else {
      lines.push(`  ${s.site}:${s.alreadyRegistered ? ' (already registered)' : fromText(s.from)}`);
      for (const [k, v] of Object.entries(s.ids)) lines.push(`    ${k}=${v}`);
    }
  }
  return lines.join('\n');
}

