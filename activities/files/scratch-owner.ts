/**
 * Scratch space keyed by the process that owns it, as the cache's transfer leases are: every
 * scratch name (Eucalyptus `bundle-…` directories with their converted images, `metadata-…` and
 * `metainfo-…` temp files) carries `h<host>p<pid>`, and at worker start everything under the
 * data directory's `tmp/` whose process is gone on this host is removed. Another live process's
 * scratch (another site's worker sharing the data directory) is left alone.
 */
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

const hostTag = createHash('sha1').update(hostname()).digest('hex').slice(0, 8);

/** `h<8 hex of the host name>p<pid>`: put into every scratch name of this process. */
export const SCRATCH_OWNER = `h${hostTag}p${process.pid}`;

const OWNER_IN_NAME = /(?:^|[-.])h([0-9a-f]{8})p(\d+)(?=[-.]|$)/;

/** Whether `name` is scratch of a process on this host that is gone. */
export function ownerGone(name: string, isAlive: (pid: number) => boolean = processAlive): boolean {
  const m = OWNER_IN_NAME.exec(name);
  if (!m || m[1] !== hostTag) return false; // not ours to judge
  return !isAlive(Number(m[2]));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Remove the scratch of gone processes under `dir`, looking `depth` levels down (`tmp/`,
 * `tmp/eucalyptus/<site>/`). Answers the paths removed.
 */
export async function sweepScratch(dir: string, depth = 3, isAlive?: (pid: number) => boolean): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (ownerGone(e.name, isAlive)) {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } else if (e.isDirectory() && depth > 1) {
      removed.push(...(await sweepScratch(path, depth - 1, isAlive)));
    }
  }
  return removed;
}
