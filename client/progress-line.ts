/** How `imageproxy register` shows a running registration: one line, with a bar on a terminal. */
import type { RegisterProgress } from '../common/register-contract.js';

/** `[#####.....]  42%` for done/total; a bar of dots when the total is unknown. */
export function progressBar(done: number, total: number | undefined, width = 24): string {
  if (!total) return `[${'.'.repeat(width)}]    ?`;
  const fraction = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

/** Bytes as KiB/MiB/GiB with one decimal. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * One line for the state of a registration: its stage and, while downloading, the bytes of all
 * parts together (`bar` adds a progress bar, for terminals).
 */
export function progressLine(p: RegisterProgress, opts: { bar: boolean }): string {
  if (p.stage !== 'download' || p.parts.length === 0) return p.stage;
  const done = p.parts.reduce((n, part) => n + part.bytesDone, 0);
  const known = p.parts.every((part) => part.bytesTotal !== undefined);
  const total = known ? p.parts.reduce((n, part) => n + (part.bytesTotal ?? 0), 0) : undefined;
  const amount = `${humanBytes(done)}${total !== undefined ? ` of ${humanBytes(total)}` : ''}`;
  if (opts.bar) return `download ${progressBar(done, total)} ${amount}`;
  const percent = total ? ` (${Math.floor((100 * done) / total)}%)` : '';
  return `download ${amount}${percent}, ${p.parts.length} part${p.parts.length === 1 ? '' : 's'}`;
}
