/**
 * bench/local-publish: what a `local` site's publish copy costs when several hosts publish at
 * once (a fleet distribution's last step). N source files (random bytes), then rounds alternating
 *   (a) `copyFile` (the plain copy, copy_file_range into the page cache: what `local` did before)
 *   (b) `copyWithDirectWrites` (what it does now where there is no reflink),
 * N copies at once in this process. Each round starts from an emptied page cache (root only), so
 * the sources are not cached, as a download written past the page cache leaves them; with
 * `--sources cached` they are read once first (a part written through the page cache). Each round
 * ends with `sync`; it reports this process's CPU, the whole machine's CPU until the copies are on
 * disk (the kernel's write-back of a buffered copy runs in its own threads), and wall times.
 *   npx tsx bench/local-publish.ts [--copies 10] [--size-mib 512] [--rounds 3] [--sources uncached|cached]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { copyWithDirectWrites } from '../activities/files/copy-with-direct-writes.js';

const { values } = parseArgs({
  options: {
    copies: { type: 'string', default: '10' },
    'size-mib': { type: 'string', default: '512' },
    rounds: { type: 'string', default: '3' },
    sources: { type: 'string', default: 'uncached' },
  },
});
const copies = Number(values.copies);
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const dir = resolve('.bench-tmp', `local-publish-${process.pid}`);

/** Busy jiffies of the whole machine (all but idle and iowait), in seconds. */
async function machineCpuSeconds(): Promise<number> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busy = fields.reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
  return busy / 100;
}

async function warm(path: string): Promise<void> {
  for await (const chunk of (await open(path)).createReadStream({ highWaterMark: 1 << 20 })) void chunk;
}

async function writeSource(path: string): Promise<void> {
  const file = await open(path, 'w');
  for (let at = 0; at < sizeMiB; at += 16) await file.write(randomBytes(Math.min(16, sizeMiB - at) << 20));
  await file.close();
}

interface Round {
  method: string;
  processCpu: number;
  machineCpu: number;
  wall: number;
  wallSynced: number;
}

const methods = {
  buffered: (from: string, to: string) => copyFile(from, to),
  direct: async (from: string, to: string) => {
    if (!(await copyWithDirectWrites(from, to))) throw new Error(`${dir}: this file system refuses O_DIRECT`);
  },
};

async function round(method: keyof typeof methods, sources: string[]): Promise<Round> {
  spawnSync('sync');
  const dropped = await writeFile('/proc/sys/vm/drop_caches', '1').then(() => true, () => false);
  if (!dropped && method === 'buffered' && sources.length) console.log('  (page cache not emptied: not root)');
  if (values.sources === 'cached') for (const source of sources) await warm(source);
  const cpu0 = process.cpuUsage();
  const machine0 = await machineCpuSeconds();
  const t0 = performance.now();
  await Promise.all(sources.map((source, i) => methods[method](source, join(dir, `copy-${i}`))));
  const wall = (performance.now() - t0) / 1000;
  spawnSync('sync');
  const wallSynced = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const result = { method, processCpu: (cpu.user + cpu.system) / 1e6, machineCpu: (await machineCpuSeconds()) - machine0, wall, wallSynced };
  await Promise.all(sources.map((_, i) => rm(join(dir, `copy-${i}`), { force: true })));
  return result;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await mkdir(dir, { recursive: true });
try {
  const sources = Array.from({ length: copies }, (_, i) => join(dir, `source-${i}`));
  for (const source of sources) await writeSource(source);
  console.log(`bench/local-publish: ${copies} copies of ${sizeMiB} MiB at once, sources ${values.sources}, ${rounds} rounds each; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results: Round[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const method of ['buffered', 'direct'] as const) {
      const x = await round(method, sources);
      results.push(x);
      console.log(`  round ${r} ${method.padEnd(8)} process CPU ${x.processCpu.toFixed(2)} s, machine CPU ${x.machineCpu.toFixed(2)} s, copies done ${x.wall.toFixed(2)} s, on disk ${x.wallSynced.toFixed(2)} s`);
    }
  }
  const med = (method: string, key: keyof Omit<Round, 'method'>) => median(results.filter((x) => x.method === method).map((x) => x[key]));
  for (const method of ['buffered', 'direct']) {
    console.log(`${method.padEnd(8)} median: process CPU ${med(method, 'processCpu').toFixed(2)} s, machine CPU ${med(method, 'machineCpu').toFixed(2)} s, copies done ${med(method, 'wall').toFixed(2)} s, on disk ${med(method, 'wallSynced').toFixed(2)} s`);
  }
  console.log(`machine CPU direct/buffered: ${(med('direct', 'machineCpu') / med('buffered', 'machineCpu')).toFixed(2)}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
