/** How `imageproxy register` and `status` show a running registration: one line, with a bar on a terminal. */
import type { RegisterProgress } from '../common/register-contract.js';
import { formatBytes } from '../config/byte-size.js';
import type { LivePartProgress } from './live-progress.js';

/** `[#####.....]  42%` for done/total; a bar of dots when the total is unknown. */
export function progressBar(done: number, total: number | undefined, width = 24): string {
  if (!total) return `[${'.'.repeat(width)}]    ?`;
  const fraction = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

/** `1h02m`, `4m05s`, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * One line for the state of a registration: its stage and, while downloading, the bytes of all
 * parts together (`bar` adds a progress bar, for terminals).
 */
export function progressLine(p: RegisterProgress, opts: { bar: boolean }): string {
  if (p.waiting) return `${p.stage}: ${p.waiting}`; // its turn on (site, GUID) has not come yet
  if (p.stage !== 'download' || p.parts.length === 0) return p.stage;
  const done = p.parts.reduce((n, part) => n + part.bytesDone, 0);
  const known = p.parts.every((part) => part.bytesTotal !== undefined);
  const total = known ? p.parts.reduce((n, part) => n + (part.bytesTotal ?? 0), 0) : undefined;
  const amount = `${formatBytes(done)}${total !== undefined ? ` of ${formatBytes(total)}` : ''}`;
  const rates = (p.parts as LivePartProgress[]).map((part) => part.bytesPerSecond ?? 0);
  const rate = rates.some((r) => r > 0) ? `, ${formatBytes(rates.reduce((a, b) => a + b, 0))}/s` : '';
  if (opts.bar) return `download ${progressBar(done, total)} ${amount}${rate}`;
  const percent = total ? ` (${Math.floor((100 * done) / total)}%)` : '';
  return `download ${amount}${percent}${rate}, ${p.parts.length} part${p.parts.length === 1 ? '' : 's'}`;
}

/** One part: `FILESYSTEM 1.2 GiB of 8.0 GiB (15%) at 42.0 MiB/s, ETA 2m46s`. */
export function partLine(p: LivePartProgress): string {
  const total = p.bytesTotal !== undefined ? ` of ${formatBytes(p.bytesTotal)} (${p.bytesTotal ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100}%)` : '';
  const rate = p.bytesPerSecond !== undefined ? ` at ${formatBytes(p.bytesPerSecond)}/s` : '';
  const eta = p.etaSeconds !== undefined ? `, ETA ${formatDuration(p.etaSeconds)}` : '';
  const attempt = p.attempt !== undefined && p.attempt > 1 ? ` (attempt ${p.attempt})` : '';
  return `${p.type} ${formatBytes(p.bytesDone)}${total}${rate}${eta}${attempt}`;
}
