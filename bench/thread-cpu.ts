/**
 * CPU seconds (user + system) of this process's threads, grouped by thread name (Linux
 * /proc/self/task/<tid>/stat): the main thread, V8's helper threads (GC, compilation), libuv's pool
 * (file system, crypto). Threads that ended between two readings are lost; a bench reads before
 * and after one round and subtracts.
 */
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export type ThreadCpu = Map<string, number>;

export async function threadCpu(): Promise<ThreadCpu> {
  const out: ThreadCpu = new Map();
  const tids = await readdir('/proc/self/task').catch(() => [] as string[]);
  for (const tid of tids) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, close).replace(/[\d/]+$/, '').trim();
    // Fields after the name: state is field 3; utime 14, stime 15 (1-based, whole line).
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(`${name}#${tid}`, ticks / TICKS_PER_SECOND);
  }
  return out;
}

/** `after - before` per thread name (threads of one name summed), largest first. */
export function threadCpuDelta(before: ThreadCpu, after: ThreadCpu): [string, number][] {
  const byName = new Map<string, number>();
  for (const [key, seconds] of after) {
    const name = key.slice(0, key.lastIndexOf('#'));
    byName.set(name, (byName.get(name) ?? 0) + seconds - (before.get(key) ?? 0));
  }
  return [...byName].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
}
