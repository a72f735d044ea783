/**
 * Bundle speed: our streamed bundle (tar → SHA-1 → parallel gzip → AES-128-CBC → 10 MiB parts,
 * each SHA-1'd) against the shell pipeline euca2ools runs for the same job,
 *   tar | tee >(sha1sum) | pigz -6 | openssl enc -aes-128-cbc | split -b 10M ; sha1sum parts
 * on a real 1 GiB ext4 image (mke2fs -d of a system directory), alternating runs, in one process
 * tree. Prints each run, the medians, the ratio (pipeline time / ours: >1 means we are faster)
 * and peak RSS.
 *   npx tsx bench/bundle/bench-bundle.ts [--runs 3] [--size-mib 1024] [--from /usr/share] [--threads 2]
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '1024' },
    from: { type: 'string', default: '/usr/share' },
    threads: { type: 'string', default: '2' },
    dir: { type: 'string', default: resolve('.bench-tmp', 'bundle') },
  },
});
const runs = Number(values.runs);
const work = resolve(values.dir!);

interface Sample {
  seconds: number;
  /** User + system CPU seconds of the whole process tree: what the work costs, whatever else runs. */
  cpuSeconds: number;
  maxRssKiB: number;
  bundledBytes: number;
}

/** Run a command under /usr/bin/time, answering wall seconds and the peak RSS of its largest process. */
async function timed(cmd: string, args: string[]): Promise<{ seconds: number; cpuSeconds: number; maxRssKiB: number; stdout: string }> {
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '__MAXRSS__%M __CPU__%U %S', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('exit', res));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-2000)}`);
  const rss = /__MAXRSS__(\d+)/.exec(stderr);
  const cpu = /__CPU__([\d.]+) ([\d.]+)/.exec(stderr);
  return { seconds, cpuSeconds: Number(cpu?.[1] ?? 0) + Number(cpu?.[2] ?? 0), maxRssKiB: Number(rss?.[1] ?? 0), stdout };
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

async function ours(image: string): Promise<Sample> {
  const out = join(work, 'ours');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const t = await timed(process.execPath, ['--import', 'tsx', resolve('bench/bundle/bundle-once.ts'), image, out, values.threads!]);
  const line = JSON.parse(t.stdout.trim().split('\n').pop()!) as { maxRssKiB: number; bundledBytes: number };
  return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, maxRssKiB: Math.max(t.maxRssKiB, line.maxRssKiB), bundledBytes: line.bundledBytes };
}

async function pipeline(image: string): Promise<Sample> {
  const out = join(work, 'pipeline');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const key = randomBytes(16).toString('hex');
  const iv = randomBytes(16).toString('hex');
  const dir = resolve(image, '..');
  const name = image.slice(dir.length + 1);
  const script = [
    'set -euo pipefail',
    `tar -c -C '${dir}' '${name}' | tee >(sha1sum > '${out}/digest') | pigz -6 -p ${values.threads} |` +
      ` openssl enc -e -aes-128-cbc -K ${key} -iv ${iv} | split -b 10485760 -d - '${out}/image.part.'`,
    `sha1sum '${out}'/image.part.* > '${out}/parts.sha1'`,
    'wait',
  ].join('\n');
  const t = await timed('bash', ['-c', script]);
  const bundledBytes = (await dirBytes(out)) - (await stat(join(out, 'digest'))).size - (await stat(join(out, 'parts.sha1'))).size;
  return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, maxRssKiB: t.maxRssKiB, bundledBytes };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

await mkdir(work, { recursive: true });
const image = join(work, 'image.ext4');
const sizeMiB = Number(values['size-mib']);
if ((await stat(image).then((s) => s.size, () => 0)) !== sizeMiB * 1024 * 1024) {
  console.log(`making a ${sizeMiB} MiB ext4 image of ${values.from} …`);
  await rm(image, { force: true });
  await run('mke2fs', ['-q', '-t', 'ext4', '-F', '-d', values.from!, image, `${sizeMiB}M`], { maxBuffer: 1 << 24 });
}
console.log(`image ${image}: ${sizeMiB} MiB; ${runs} runs each, alternating; threads ${values.threads}`);

const samples: { ours: Sample[]; pipeline: Sample[] } = { ours: [], pipeline: [] };
for (let i = 0; i < runs; i++) {
  for (const [label, fn] of (i % 2 === 0 ? [['ours', ours], ['pipeline', pipeline]] : [['pipeline', pipeline], ['ours', ours]]) as [
    'ours' | 'pipeline',
    (img: string) => Promise<Sample>,
  ][]) {
    const s = await fn(image);
    samples[label].push(s);
    console.log(`run ${i + 1} ${label.padEnd(8)} ${s.seconds.toFixed(2)} s  cpu ${s.cpuSeconds.toFixed(2)} s  ${(s.bundledBytes / 2 ** 20).toFixed(1)} MiB bundled  peak RSS ${(s.maxRssKiB / 1024).toFixed(0)} MiB`);
  }
}
const mo = median(samples.ours.map((s) => s.seconds));
const mp = median(samples.pipeline.map((s) => s.seconds));
console.log(`median ours     ${mo.toFixed(2)} s (${((sizeMiB / mo)).toFixed(1)} MiB/s)  peak RSS ${(Math.max(...samples.ours.map((s) => s.maxRssKiB)) / 1024).toFixed(0)} MiB`);
console.log(`median pipeline ${mp.toFixed(2)} s (${((sizeMiB / mp)).toFixed(1)} MiB/s)  peak RSS (largest process) ${(Math.max(...samples.pipeline.map((s) => s.maxRssKiB)) / 1024).toFixed(0)} MiB`);
const co = median(samples.ours.map((s) => s.cpuSeconds));
const cp = median(samples.pipeline.map((s) => s.cpuSeconds));
console.log(`median cpu ours ${co.toFixed(2)} s, pipeline ${cp.toFixed(2)} s`);
console.log(`ratio pipeline/ours: wall ${(mp / mo).toFixed(2)}, cpu ${(cp / co).toFixed(2)}  (load average at the end ${(await import('node:os')).loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores)`);
await rm(join(work, 'ours'), { recursive: true, force: true });
await rm(join(work, 'pipeline'), { recursive: true, force: true });
