/**
 * bench/peer-wire: the CPU of the fleet's peer wire, apart from Temporal, sites and the page cache
 * of other hosts. One process serves a file of random bytes from its peer endpoint (as a host
 * whose cache holds the part); this process fetches it with `fetchFromPeers` (every piece checked
 * against known prefix digests, written to a file), round after round. Baseline in the same run:
 * `curl` fetching the same bytes from the same endpoint into `tee FILE | sha1sum` (receive, write,
 * hash: the least a receiver does). Prints wall and CPU seconds per GiB for each side.
 *
 *   npx tsx bench/peer-wire.ts [--size-mib 512] [--rounds 3]
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPeerClient } from '../activities/transports/peer/peer-client.js';
import { fetchFromPeers } from '../activities/transports/peer/fetch-from-peers.js';
import { startPeerServer } from '../activities/transports/peer/peer-server.js';
import { prefixDigestsOfFile } from '../activities/transports/peer/prefix-digests.js';
import { createLogger } from '../workers/logger.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '512' },
    rounds: { type: 'string', default: '3' },
    serve: { type: 'string' },
  },
});
const TOKEN = 'bench-peer-wire';
const logger = createLogger('warn');

/** The serving side (a child process): prints its address, then its CPU seconds on each line read. */
async function serve(path: string): Promise<void> {
  const size = (await readFile(path)).length;
  const hex = createHash('sha1').update(await readFile(path)).digest('hex');
  const server = await startPeerServer({ listen: '127.0.0.1:0', token: TOKEN, logger, cache: { nameOf: (h) => h.hex, lookup: async (h) => (h.hex === hex ? { path, size } : undefined) } });
  console.log(JSON.stringify({ address: server.address, name: hex }));
  process.stdin.on('data', () => {
    const u = process.cpuUsage();
    console.log(JSON.stringify({ cpuS: (u.user + u.system) / 1e6 }));
  });
}

async function main(): Promise<void> {
  const size = Number(values['size-mib']) << 20;
  const rounds = Number(values.rounds);
  const dir = resolve('.bench-tmp', `peer-wire-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const source = join(dir, 'part');
  const file = await open(source, 'w');
  const chunk = Buffer.alloc(16 << 20);
  for (let at = 0; at < size; at += chunk.length) await file.write(randomFillSync(chunk), 0, Math.min(chunk.length, size - at));
  await file.close();

  const server = spawn(process.execPath, ['--import', 'tsx', '--single-threaded-gc', resolve('bench/peer-wire.ts'), '--serve', source], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let pending = '';
  server.stdout.on('data', (b: Buffer) => {
    pending += b.toString();
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else lines.push(line);
    }
  });
  const nextLine = (): Promise<string> => (lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((r) => (waiting = r)));
  const { address, name } = JSON.parse(await nextLine()) as { address: string; name: string };
  const serverCpu = async (): Promise<number> => {
    server.stdin.write('\n');
    return (JSON.parse(await nextLine()) as { cpuS: number }).cpuS;
  };
  const pieces = await prefixDigestsOfFile(source, size, 'sha1');
  const GiB = size / 2 ** 30;
  console.log(`bench/peer-wire: ${size >> 20} MiB, ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const rows: { who: string; wallS: number; cpuS: number; serverCpuS: number }[] = [];
  for (let r = 1; r <= rounds; r++) {
    // ours: fetchFromPeers, as a host of the distribution takes a part
    const dest = join(dir, 'got');
    let s0 = await serverCpu();
    let c0 = process.cpuUsage();
    let t0 = Date.now();
    const client = createPeerClient({ token: TOKEN, connectTimeoutMs: 5_000 });
    const got = await fetchFromPeers({ name, destPath: dest, hashAlgorithm: 'sha1', peers: [address], pieces, refresh: async () => undefined, fetchRange: client.fetchRange, stallTimeoutMs: 30_000, logger });
    client.close();
    if (!got.ok || got.hashHex !== name) throw new Error(`round ${r}: ${JSON.stringify(got.ok ? got.hashHex : got.reason)}`);
    let c = process.cpuUsage(c0);
    rows.push({ who: 'ours (fetchFromPeers)', wallS: (Date.now() - t0) / 1000, cpuS: (c.user + c.system) / 1e6, serverCpuS: (await serverCpu()) - s0 });
    await rm(dest);

    // baseline: curl into tee | sha1sum, CPU from the shell's `times` (its children)
    s0 = await serverCpu();
    t0 = Date.now();
    const script = `curl -s -H 'authorization: Bearer ${TOKEN}' -H 'range: bytes=0-${size - 1}' http://${address}/v1/parts/${name} | tee ${dest} | sha1sum > ${dest}.sha1; times`;
    const out = await new Promise<string>((res) => {
      const sh = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      sh.stdout.on('data', (b: Buffer) => (o += b.toString()));
      sh.on('exit', () => res(o));
    });
    const [, children] = out.trim().split('\n');
    const cpuOfChildren = (children ?? '').split(/\s+/).reduce((sum, t) => sum + (Number(/(\d+)m([\d.]+)s/.exec(t)?.[1]) * 60 + Number(/(\d+)m([\d.]+)s/.exec(t)?.[2]) || 0), 0);
    if (!(await readFile(`${dest}.sha1`, 'utf8')).startsWith(name)) throw new Error(`round ${r}: curl's copy does not match`);
    rows.push({ who: 'curl | tee | sha1sum', wallS: (Date.now() - t0) / 1000, cpuS: cpuOfChildren, serverCpuS: (await serverCpu()) - s0 });
    await rm(dest);
    c0 = process.cpuUsage();
    c = c0;
    for (const row of rows.slice(-2)) console.log(`  round ${r} ${row.who.padEnd(24)} wall ${row.wallS.toFixed(2)} s  receiver CPU ${(row.cpuS / GiB).toFixed(2)} s/GiB  server CPU ${(row.serverCpuS / GiB).toFixed(2)} s/GiB`);
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const who of ['ours (fetchFromPeers)', 'curl | tee | sha1sum']) {
    const mine = rows.filter((r) => r.who === who);
    console.log(`median ${who.padEnd(24)} receiver CPU ${(median(mine.map((r) => r.cpuS)) / GiB).toFixed(2)} s/GiB, server CPU ${(median(mine.map((r) => r.serverCpuS)) / GiB).toFixed(2)} s/GiB, wall ${median(mine.map((r) => r.wallS)).toFixed(2)} s`);
  }
  console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  server.kill();
  await rm(dir, { recursive: true, force: true });
}

if (values.serve) void serve(values.serve);
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
