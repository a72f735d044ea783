/**
 * bench/http: serve a large file from a local origin (python3 -m http.server, another process),
 * then alternate (a) `curl -s URL | sha1sum`, (a') `curl -s URL | tee FILE | sha1sum` (which also
 * writes the file, as we do) and (b) our download path (bench/http-download-once.ts,
 * its own process), several rounds. Prints each round, the medians, the ratio curl/ours (above 1:
 * we are faster) and our peak RSS. Each round also times (w) `dd` copying the file, from the page
 * cache, into a new file: what writing the bytes alone costs this machine at that moment.
 *   npm run bench:http            # 2 GiB, 5 rounds
 *   BENCH_SIZE_MIB=256 BENCH_ROUNDS=3 npm run bench:http
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const dir = await mkdtemp(join(tmpdir(), 'imageproxy-bench-http-'));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const origin = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(await freePort()), '--directory', dir], { stdio: 'ignore' });
try {
  // The file: random bytes (incompressible, like a real image), its SHA-1 computed as written.
  const file = join(dir, 'image.img');
  const fh = await open(file, 'w');
  const hash = createHash('sha1');
  const block = randomBytes(16 << 20);
  for (let i = 0; i < sizeMiB / 16; i++) {
    block.writeUInt32LE(i, 0); // every block different
    hash.update(block);
    await fh.write(block);
  }
  await fh.close();
  const sha1 = hash.digest('hex');
  const port = Number(origin.spawnargs[5]);
  const url = `http://127.0.0.1:${port}/image.img`;
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('curl', ['-sf', '-o', '/dev/null', '-r', '0-0', url]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  console.log(`bench/http: ${sizeMiB} MiB from python3 -m http.server on loopback, ${rounds} rounds, alternating`);

  const curlMs: number[] = [];
  const teeMs: number[] = [];
  const oursMs: number[] = [];
  const writeMs: number[] = [];
  let peakRssKiB = 0;
  for (let round = 1; round <= rounds; round++) {
    const t0 = performance.now();
    const out = execFileSync('bash', ['-c', `set -o pipefail; curl -s ${url} | sha1sum`], { encoding: 'utf8' });
    const curl = performance.now() - t0;
    if (!out.startsWith(sha1)) throw new Error(`curl | sha1sum gave ${out.trim()}, expected ${sha1}`);

    // Extra baseline doing our work (hash and write the file): curl | tee FILE | sha1sum.
    const t2 = performance.now();
    const teeOut = execFileSync('bash', ['-c', `set -o pipefail; curl -s ${url} | tee ${join(dir, 'tee.out')} | sha1sum`], { encoding: 'utf8' });
    const tee = performance.now() - t2;
    if (!teeOut.startsWith(sha1)) throw new Error(`curl | tee | sha1sum gave ${teeOut.trim()}`);
    await rm(join(dir, 'tee.out'), { force: true });

    const cacheDir = join(dir, 'cache');
    const t1 = performance.now();
    const line = execFileSync('npx', ['tsx', 'bench/http-download-once.ts', url, sha1, cacheDir], { encoding: 'utf8' });
    const wall = performance.now() - t1;
    const ours = JSON.parse(line.trim().split('\n').at(-1)!) as { ms: number; maxRssKiB: number };
    await rm(cacheDir, { recursive: true, force: true });

    const t3 = performance.now();
    execFileSync('dd', [`if=${file}`, `of=${join(dir, 'dd.out')}`, 'bs=1M', 'status=none']);
    const write = performance.now() - t3;
    await rm(join(dir, 'dd.out'), { force: true });

    curlMs.push(curl);
    teeMs.push(tee);
    writeMs.push(write);
    oursMs.push(ours.ms);
    peakRssKiB = Math.max(peakRssKiB, ours.maxRssKiB);
    console.log(
      `round ${round}: curl|sha1sum ${(curl / 1000).toFixed(2)} s; curl|tee file|sha1sum ${(tee / 1000).toFixed(2)} s; dd write ${(write / 1000).toFixed(2)} s; ours ${(ours.ms / 1000).toFixed(2)} s ` +
        `(process wall ${(wall / 1000).toFixed(2)} s incl. tsx start), peak RSS ${(ours.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
  }
  const mc = median(curlMs);
  const mo = median(oursMs);
  const mibps = (ms: number): string => ((sizeMiB / ms) * 1000).toFixed(0);
  console.log(`median curl|sha1sum: ${(mc / 1000).toFixed(2)} s (${mibps(mc)} MiB/s)`);
  console.log(`median ours:         ${(mo / 1000).toFixed(2)} s (${mibps(mo)} MiB/s)`);
  const mt = median(teeMs);
  console.log(`median curl|tee|sha1sum (also writes the file): ${(mt / 1000).toFixed(2)} s (${mibps(mt)} MiB/s)`);
  const mw = median(writeMs);
  console.log(`median dd write of the file alone: ${(mw / 1000).toFixed(2)} s (${mibps(mw)} MiB/s; curl|sha1sum does not pay this)`);
  console.log(`ratio curl/ours:     ${(mc / mo).toFixed(2)} (above 1: ours is faster)`);
  console.log(`ratio curl|tee/ours: ${(mt / mo).toFixed(2)} (same work as ours: hash and write)`);
  console.log(`our peak RSS:        ${(peakRssKiB / 1024).toFixed(0)} MiB`);
} finally {
  origin.kill();
  await rm(dir, { recursive: true, force: true });
}
