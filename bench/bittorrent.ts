/**
 * bench/bittorrent: our BitTorrent transport against aria2c, both downloading one file from the same
 * third-party seeder (aria2c) found through the same tracker (opentracker), on loopback.
 * Rounds alternate (ours, aria2c, ours, …); each starts from an empty directory and a new client.
 * Ours is timed from the request to the verified result: .torrent fetch over HTTP, download, and the
 * SHA-1 of the whole file (aria2c checks piece hashes only). Prints medians, the ratio
 * aria2c / ours (≥ 1 means we are as fast or faster) and peak RSS of each.
 *
 * Also prints the CPU seconds of our process's threads per round (main thread, the rest: V8's GC
 * helpers and libuv's pool).
 *
 *   npx tsx bench/bittorrent.ts [--size-mib 1024] [--rounds 5] [--gc single|parallel] [--cpu-prof PREFIX]
 *
 * `--gc single` (default) runs the bench as the worker runs (`node --single-threaded-gc`, see
 * bin/imageproxy.js): the bench restarts itself with that flag. `parallel` is V8's default.
 * `--cpu-prof PREFIX` writes a V8 CPU profile of each of our rounds (only the download, not the
 * set-up or aria2c's rounds) to PREFIX-<round>.cpuprofile; bench/summarise-cpu-profile.ts reads it.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import Piece from 'torrent-piece';
import { createBittorrentTransport } from '../activities/transports/bittorrent/bittorrent-transport.js';
import { acquireSharedTorrentClient } from '../activities/transports/bittorrent/shared-torrent-client.js';
import { createHttpTransport } from '../activities/transports/http-transport.js';
import { pseudoRandomBytes } from '../client/demo/sample-image.js';
import { BittorrentSchema, HttpSchema } from '../config/config-schema.js';
import { freePort, makeTorrent, startAria2Seeder, startOpentracker } from '../test/support/bittorrent-peers.js';
import { HttpOrigin } from '../test/support/http-origin.js';
import { CpuProfileWindow } from './cpu-profile-window.js';
import { GcTally } from './gc-tally.js';
import { threadCpu, threadCpuDelta } from './thread-cpu.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    gc: { type: 'string', default: 'single' },
    'cpu-prof': { type: 'string' },
  },
});
if (values.gc !== 'single' && values.gc !== 'parallel') throw new Error(`--gc: single or parallel, not ${values.gc}`);
if (values.gc === 'single' && !process.execArgv.includes('--single-threaded-gc')) {
  // A V8 flag that cannot be set once the process runs: start again with it, as the worker does.
  const child = spawn(process.execPath, ['--single-threaded-gc', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exitCode = (await new Promise<number | null>((r) => child.once('exit', r))) ?? 1;
}
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const root = resolve('.bench-tmp', `bittorrent-${Date.now()}`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Peak resident set of a running process (VmHWM), in KiB. */
async function peakRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
}

/** Peak resident set of the children of `pid` (aria2c under sh), in KiB. */
async function childPeakRssKiB(pid: number): Promise<number> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const kib = await Promise.all(children.trim().split(/\s+/).filter(Boolean).map((c) => peakRssKiB(Number(c))));
  return Math.max(0, ...kib);
}

/** The children's user and system time from sh's `times` output (its second line: `0m1.234s 0m0.456s`). */
function childCpuSeconds(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const seconds = [...(lines.at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return seconds.length === 2 ? seconds[0]! + seconds[1]! : NaN;
}

async function writeImage(path: string): Promise<void> {
  // 64 MiB chunks of pseudo-random bytes: incompressible, without holding the whole file in memory.
  const chunk = 64 << 20;
  await writeFile(path, '');
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'w');
  for (let off = 0, n = 0; off < sizeMiB << 20; off += chunk, n++) {
    await fh.write(pseudoRandomBytes(Math.min(chunk, (sizeMiB << 20) - off), 1000 + n));
  }
  await fh.close();
}

async function main(): Promise<void> {
  await mkdir(join(root, 'seed'), { recursive: true });
  const file = join(root, 'seed', 'image.img');
  console.error(`bench/bittorrent: ${sizeMiB} MiB, ${rounds} rounds each, in ${root}`);
  await writeImage(file);
  const probe = await makeTorrent(file, { out: join(root, 'probe.torrent'), pieceLengthExp: 20 });
  const tracker = await startOpentracker([probe.infoHash]);
  const torrent = await makeTorrent(file, { announce: tracker.announceUrl, out: join(root, 'image.torrent'), pieceLengthExp: 20 });
  const seeder = await startAria2Seeder({ torrents: [torrent], dir: join(root, 'seed'), tracker });
  const origin = await new HttpOrigin().start();
  const torrentUrl = await origin.addFile('/image.torrent', torrent.path);
  const logger = pino({ level: 'warn' });

  const ours: number[] = [];
  const oursDownloadOnly: number[] = [];
  const theirs: number[] = [];
  // CPU seconds (user + system) per round: on a loaded machine wall time follows CPU time needed.
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  let aria2PeakKiB = 0;
  const profiler = values['cpu-prof'] !== undefined ? new CpuProfileWindow() : undefined;
  const gc = new GcTally();
  try {
    for (let round = 0; round < rounds; round++) {
      // Ours: a new client and data directory each round, as on a fresh worker.
      const dir = join(root, `ours-${round}`);
      await mkdir(join(dir, 'tmp'), { recursive: true });
      const shared = acquireSharedTorrentClient({ dht: false, lsd: false, pex: false, utp: false, listenPort: 0, listenAddress: '127.0.0.1' }, logger);
      const transport = createBittorrentTransport({
        config: BittorrentSchema.parse({ dht: false, lsd: false, pex: false, seeding: { maxSeconds: 0 } }),
        httpConfig: HttpSchema.parse({ allowedNetworks: ['127.0.0.0/8'] }),
        http: createHttpTransport({ config: HttpSchema.parse({ allowedNetworks: ['127.0.0.0/8'] }) }),
        torrents: shared.client,
        dir: join(dir, 'bittorrent'),
        tmpDir: join(dir, 'tmp'),
        logger,
      });
      await profiler?.start();
      gc.start();
      const threads0 = await threadCpu();
      const buffers0 = Piece.buffersAllocated;
      const cpu0 = process.cpuUsage();
      let t0 = performance.now();
      let downloaded: number | undefined;
      const got = await transport.fetchToFile({
        url: torrentUrl,
        destPath: join(dir, 'image.img'),
        hashAlgorithm: 'sha1',
        // The first report of every byte done is the end of the download; the SHA-1 read follows.
        onProgress: (p) => {
          if (downloaded === undefined && p.bytesDone === p.bytesTotal) downloaded = (performance.now() - t0) / 1000;
        },
      });
      ours.push((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(cpu0);
      oursCpu.push((cpu.user + cpu.system) / 1e6);
      const perThread = threadCpuDelta(threads0, await threadCpu());
      const gcs = gc.stop();
      if (profiler) await profiler.stop(`${values['cpu-prof']}-${round + 1}.cpuprofile`);
      oursDownloadOnly.push(downloaded ?? NaN);
      await shared.release();
      await rm(dir, { recursive: true, force: true });
      if (got.bytes !== sizeMiB << 20) throw new Error(`ours got ${got.bytes} bytes`);

      // aria2c: a fresh leecher from the same seeder.
      const adir = join(root, `aria2-${round}`);
      await mkdir(adir, { recursive: true });
      const port = await freePort();
      t0 = performance.now();
      // Through sh, whose `times` reports the CPU time of its waited-for child (aria2c) on stderr.
      const child = spawn(
        'sh',
        ['-c', 'aria2c "$@"; code=$?; times >&2; exit $code', 'sh', '--seed-time=0', `--dir=${adir}`, `--listen-port=${port}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
          '--enable-peer-exchange=false', '--interface=127.0.0.1', '--disable-ipv6=true', '--console-log-level=warn', '--summary-interval=0',
          '--file-allocation=none', torrent.path],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let peak = 0;
      // aria2c is sh's child: poll the RSS of sh's children.
      const poll = setInterval(() => void childPeakRssKiB(child.pid!).then((k) => (peak = Math.max(peak, k))), 100);
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      clearInterval(poll);
      theirs.push((performance.now() - t0) / 1000);
      theirsCpu.push(childCpuSeconds(stderr));
      aria2PeakKiB = Math.max(aria2PeakKiB, peak);
      if (code !== 0) throw new Error(`aria2c exited with ${code}`);
      await rm(adir, { recursive: true, force: true });
      console.error(
        `round ${round + 1}: ours ${ours.at(-1)!.toFixed(2)} s (download ${oursDownloadOnly.at(-1)!.toFixed(2)} s, CPU ${oursCpu.at(-1)!.toFixed(2)} s),` +
          ` aria2c ${theirs.at(-1)!.toFixed(2)} s (CPU ${theirsCpu.at(-1)!.toFixed(2)} s);` +
          ` our threads: ${perThread.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ')}; our GC: ${gcs}; new piece buffers ${Piece.buffersAllocated - buffers0}`,
      );
    }
  } finally {
    profiler?.close();
    await seeder.stop();
    await tracker.stop();
    await origin.stop();
  }
  const oursPeakMiB = process.resourceUsage().maxRSS / 1024;
  const mo = median(ours);
  const mt = median(theirs);
  console.log(`bench/bittorrent ${sizeMiB} MiB from one aria2c seeder on loopback, ${rounds} rounds each (alternating), GC ${values.gc}-threaded`);
  console.log(`  ours   (webtorrent transport, incl. .torrent fetch and whole-file SHA-1): median ${mo.toFixed(2)} s  (${(sizeMiB / mo).toFixed(0)} MiB/s)  peak RSS ${oursPeakMiB.toFixed(0)} MiB (whole bench process)`);
  console.log(`         of which the download until the last piece was verified: median ${median(oursDownloadOnly).toFixed(2)} s`);
  console.log(`  aria2c (fresh leecher, --seed-time=0):                                  median ${mt.toFixed(2)} s  (${(sizeMiB / mt).toFixed(0)} MiB/s)  peak RSS ${(aria2PeakKiB / 1024).toFixed(0)} MiB`);
  console.log(`  CPU time (user+sys) median: ours ${median(oursCpu).toFixed(2)} s, aria2c ${median(theirsCpu).toFixed(2)} s (the shared seeder not counted)`);
  console.log(`  load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`  ratio aria2c/ours: ${(mt / mo).toFixed(2)}  (goal >= 0.8)`);
  await rm(root, { recursive: true, force: true });
}

if (values.gc === 'parallel' || process.execArgv.includes('--single-threaded-gc')) await main();
