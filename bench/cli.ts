/**
 * bench/cli: what the `imageproxy` command costs a user, against baselines measured in the same run.
 *   (1) start-up: `imageproxy --help` and `imageproxy status GUID` beside `node -e 0`: CPU seconds
 *       (user + system, of the child) and wall, median of the runs;
 *   (2) answers for an image already registered: `register` (cached) and `status`, p50 and p95 of
 *       20 calls each, beside `temporal workflow describe` of the same run (the Temporal CLI);
 *   (3) `register --site nosuch`: refused (exit 64) before connecting, 5 calls.
 * It starts `imageproxy dev --no-http` (compiled, prebuilt workflow bundle) on free loopback ports
 * with a fresh data directory, registers a generated sample once, then measures. Prints `uptime`.
 *   npm run bench:cli                # builds first; BENCH_CALLS=20 by default
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveDirectory, sha1Hex, writeSampleImage } from '../client/demo/sample-image.js';
import { findTemporalCli, freePort } from '../workers/temporal-cli.js';

const calls = Number(process.env.BENCH_CALLS ?? 20);
const cli = resolve('bin/imageproxy.js');

interface Sample {
  wall: number;
  cpu: number;
}

/** Run `argv` once under bash's `times` (the child's user + system CPU), timing the wall clock here. */
async function measure(argv: string[], env: NodeJS.ProcessEnv, expectedExit = 0): Promise<Sample> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const start = process.hrtime.bigint();
  // Asynchronous: the sample origin is served by this process.
  const { stdout: out, stderr } = await promisify(execFile)('bash', ['-c', `${quoted} >/dev/null 2>&1; code=$?; [ $code = ${expectedExit} ] || echo "exit $code" >&2; times`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (stderr) throw new Error(`${argv.join(' ')} failed: ${stderr}`);
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  // `times`: line 1 the shell, line 2 its children: "0m0.123s 0m0.045s".
  const children = out.trim().split('\n')[1] ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wall, cpu: (secs[0] ?? 0) + (secs[1] ?? 0) };
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

async function series(name: string, argv: string[], env: NodeJS.ProcessEnv, n = calls, expectedExit = 0): Promise<{ name: string; samples: Sample[] }> {
  await measure(argv, env, expectedExit); // warm the page cache
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) samples.push(await measure(argv, env, expectedExit));
  return { name, samples };
}

function row(s: { name: string; samples: Sample[] }, base?: { samples: Sample[] }): string {
  const wall = s.samples.map((x) => x.wall);
  const cpu = s.samples.map((x) => x.cpu);
  const extra = base ? `  CPU − baseline ${(quantile(cpu, 0.5) - quantile(base.samples.map((x) => x.cpu), 0.5)).toFixed(3)} s` : '';
  return `${s.name.padEnd(34)} wall p50 ${quantile(wall, 0.5).toFixed(3)} s  p95 ${quantile(wall, 0.95).toFixed(3)} s  CPU p50 ${quantile(cpu, 0.5).toFixed(3)} s  p95 ${quantile(cpu, 0.95).toFixed(3)} s${extra}`;
}

const dir = await mkdtemp(join(tmpdir(), 'imageproxy-bench-cli-'));
const [port, uiPort] = [await freePort(), await freePort()];
const address = `127.0.0.1:${port}`;
// The sample's origin is on loopback, which the outbound policy refuses unless the config allows it.
const config = join(dir, 'config.json');
await writeFile(config, JSON.stringify({ sites: { local: { type: 'local' } }, http: { allowedNetworks: ['127.0.0.0/8'] } }));
const env = { IMAGEPROXY_DATA_DIR: join(dir, 'data'), IMAGEPROXY_CONFIG: config, TEMPORAL_ADDRESS: address };
const dev = spawn('node', [cli, 'dev', '--port', String(port), '--ui-port', String(uiPort), '--no-http', '--log-format', 'json'], {
  env: { ...process.env, IMAGEPROXY_DATA_DIR: env.IMAGEPROXY_DATA_DIR, IMAGEPROXY_CONFIG: config, TEMPORAL_ADDRESS: '', IMAGEPROXY_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const { server, baseUrl } = await serveDirectory(join(dir));
try {
  await new Promise<void>((ok, fail) => {
    let out = '';
    dev.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/Sites: /.test(out)) ok();
    });
    dev.once('exit', (code) => fail(new Error(`imageproxy dev exited with ${code}: ${out}`)));
  });
  const sample = await writeSampleImage(dir, { sizes: { FILESYSTEM: 1 << 20, KERNEL: 64 << 10, RAMDISK: 64 << 10 } });
  const metadata = sample.metadataFor(baseUrl);
  await writeFile(join(dir, 'image.xml'), metadata);
  const guid = sha1Hex(metadata);
  const register = [process.execPath, cli, 'register', '--url', `${baseUrl}/image.xml`, '--guid', guid, '--json'];
  await measure(register, env); // the first registration, not measured

  console.log(`bench/cli ${new Date().toISOString()}  ${calls} calls each; node ${process.version}`);
  console.log(`load before: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  const node0 = await series('node -e 0 (baseline)', [process.execPath, '-e', '0'], env);
  const help = await series('imageproxy --help', [process.execPath, cli, '--help'], env);
  const status = await series('imageproxy status GUID', [process.execPath, cli, 'status', guid], env);
  const cached = await series('imageproxy register (cached)', register, env);
  const unknownSite = await series('imageproxy register --site nosuch', [...register, '--site', 'nosuch'], env, 5, 64);
  const describe = await series('temporal workflow describe', [findTemporalCli(), 'workflow', 'describe', '--address', address, '-w', `imageproxy/local/${guid}`], env);
  console.log(row(node0));
  console.log(row(help, node0));
  console.log(row(status, node0));
  console.log(row(cached, node0));
  console.log(row(describe, node0));
  console.log(row(unknownSite, node0));
  const p50 = (s: { samples: Sample[] }): number => quantile(s.samples.map((x) => x.wall), 0.5);
  console.log(`ratios of wall p50 to temporal workflow describe: status ${(p50(status) / p50(describe)).toFixed(2)}, register (cached) ${(p50(cached) / p50(describe)).toFixed(2)}`);
  console.log(`load after: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
} finally {
  server.close();
  dev.kill('SIGINT');
  await new Promise((r) => dev.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
