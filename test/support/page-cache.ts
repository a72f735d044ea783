/** What a test can see of the page cache: util-linux's `fincore`. */
import { spawnSync } from 'node:child_process';

/** Bytes of `path` in the page cache, as fincore counts them. */
export function residentBytes(path: string): number {
  const out = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`fincore ${path}: ${out.stderr}`);
  return Number(out.stdout.trim());
}
