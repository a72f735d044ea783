/**
 * `imageproxy status GUID`: where the registration of a GUID at a site stands; while it downloads,
 * bytes, rate and ETA per part (from the download activities' heartbeats).
 */
import type { Command } from 'commander';
import type { ImageStatus } from '../../image-proxy-client.js';
import { partLine } from '../../progress-line.js';
import type { CliContext } from '../cli-context.js';
import { ExitCode } from '../cli-io.js';

/** `--json` when no registration is known. */
export interface UnknownStatusJson {
  guid: string;
  site: string;
  status: 'UNKNOWN';
}

export function defineStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show where the registration of a GUID at a site stands (progress per part while downloading)')
    .argument('<guid>')
    .option('--site <name>', 'site (default: the config default)')
    .option('--json', 'print JSON')
    .action((guid: string, opts: { site?: string; json?: boolean }) => runStatus(ctx, guid, opts));
}

export async function runStatus(ctx: CliContext, guid: string, opts: { site?: string; json?: boolean }): Promise<void> {
  const site = await ctx.siteOrDefault(opts.site);
  const { withClient } = await import('../with-client.js');
  const status = await withClient(ctx.io, (client) => client.getStatus(guid, site));
  if (!status) {
    if (opts.json) ctx.printJson({ guid, site, status: 'UNKNOWN' } satisfies UnknownStatusJson);
    else ctx.print(`no registration of ${guid} at ${site} is known`);
    ctx.fail(ExitCode.Failed);
    return;
  }
  if (opts.json) ctx.printJson(status);
  else ctx.print(formatStatus(status));
  if (status.status !== 'COMPLETED' && status.status !== 'RUNNING') ctx.fail(ExitCode.Failed);
}

export function formatStatus(s: ImageStatus): string {
  const lines = [`${s.guid} at ${s.site}: ${s.status}${s.stage ? ` (${s.stage})` : ''}`];
  for (const p of s.progress?.parts ?? []) lines.push(`  ${partLine(p)}`);
  for (const [k, v] of Object.entries(s.ids ?? {})) lines.push(`  ${k}=${v}`);
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}
