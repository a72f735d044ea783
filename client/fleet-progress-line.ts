/**
 * How `imageproxy register --site a --site b …` shows a distribution while it runs: one line for
 * all sites (how many are done, what the others are at, the bytes of those downloading), and one
 * line per site as it finishes (its ids' source: origin, peers or the host cache).
 */
import type { SiteOutcome } from '../common/distribute-contract.js';
import { PART_SOURCE_WORDS } from '../common/image-types.js';
import { formatBytes } from '../config/byte-size.js';
import type { LivePartProgress, LiveProgress } from './live-progress.js';
import { progressBar } from './progress-line.js';

/** A site still running, as its registration's status says (undefined progress: not known yet). */
export interface RunningSite {
  site: string;
  progress?: LiveProgress;
}

/**
 * `2 of 10 sites done (1 failed); 7 downloading 1.2 GiB of 3.5 GiB at 210.0 MiB/s; 1 metadata`.
 * With `bar`, a bar of the bytes of all downloading sites (for terminals).
 */
export function fleetLine(total: number, done: readonly SiteOutcome[], running: readonly RunningSite[], opts: { bar: boolean }): string {
  const failed = done.filter((d) => !d.ok).length;
  const head = `${done.length} of ${total} sites done${failed > 0 ? ` (${failed} failed)` : ''}`;
  const byStage = new Map<string, RunningSite[]>();
  for (const r of running) {
    const stage = r.progress?.waiting ? 'waiting' : (r.progress?.stage ?? 'starting');
    byStage.set(stage, [...(byStage.get(stage) ?? []), r]);
  }
  const parts: string[] = [];
  for (const [stage, sites] of byStage) {
    if (stage !== 'download') {
      parts.push(`${sites.length} ${stage}`);
      continue;
    }
    const all: LivePartProgress[] = sites.flatMap((s) => s.progress?.parts ?? []);
    const bytes = all.reduce((n, p) => n + p.bytesDone, 0);
    const total = all.every((p) => p.bytesTotal !== undefined) ? all.reduce((n, p) => n + (p.bytesTotal ?? 0), 0) : undefined;
    const rate = all.reduce((n, p) => n + (p.bytesPerSecond ?? 0), 0);
    const amount = `${formatBytes(bytes)}${total !== undefined ? ` of ${formatBytes(total)}` : ''}${rate > 0 ? ` at ${formatBytes(rate)}/s` : ''}`;
    parts.push(`${sites.length} downloading ${opts.bar ? `${progressBar(bytes, total)} ` : ''}${amount}`);
  }
  return parts.length > 0 ? `${head}; ${parts.join('; ')}` : head;
}

/** ` (FILESYSTEM from peers, KERNEL from the origin)`: where a site's host took each part. */
export function fromText(from: Extract<SiteOutcome, { ok: true }>['from']): string {
  const entries = Object.entries(from ?? {});
  return entries.length === 0 ? '' : ` (${entries.map(([type, source]) => `${type} from ${PART_SOURCE_WORDS[source]}`).join(', ')})`;
}

/** `s3: registered (FILESYSTEM from peers)`, `s4: FAILED: …`: a site that finished. */
export function siteDoneLine(outcome: SiteOutcome): string {
  if (!outcome.ok) return `${outcome.site}: FAILED: ${outcome.error}`;
  return `${outcome.site}: ${outcome.alreadyRegistered ? 'already registered' : 'done'}${fromText(outcome.from)}`;
}
