/**
 * Third-party BitTorrent programs for interop tests, all from Debian (scripts/install.sh installs
 * them), on free loopback ports with DHT, LSD and peer exchange off: opentracker as the tracker,
 * mktorrent to make torrents, aria2c as seeder and as a fresh leecher.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseMetainfo } from '../../activities/transports/bittorrent/webtorrent-client.js';

/** A new directory under .test-tmp (no vitest import here: bench/ uses these peers too). */
async function newTestDir(name: string): Promise<string> {
  const dir = resolve('.test-tmp', `${name}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A program started by a test, its output in a log file; `stop()` ends it and waits. */
export class Program {
  readonly exited: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    const log = createWriteStream(logPath);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(name: string, command: string, args: string[], opts: { cwd: string; logDir: string }): Program {
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Program(name, child, join(opts.logDir, `${name}.log`));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  async log(): Promise<string> {
    return readFile(this.logPath, 'utf8').catch(() => '');
  }
}

export interface Tracker {
  announceUrl: string;
  /** Seeders and leechers the tracker knows for `infoHash`. */
  scrape(infoHash: string): Promise<{ complete: number; incomplete: number }>;
  stop(): Promise<void>;
}

/**
 * Debian's opentracker is built in whitelist mode: it needs a config file naming the whitelist,
 * which lists every allowed info hash (40 hex digits a line). Run as root it chroots into
 * `tracker.rootdir` and drops to nobody, so the whitelist is named inside that root then.
 */
export async function startOpentracker(infoHashes: readonly string[]): Promise<Tracker> {
  const dir = await newTestDir('opentracker');
  const port = await freePort();
  await writeFile(join(dir, 'whitelist'), infoHashes.map((h) => `${h}\n`).join(''));
  const asRoot = process.getuid?.() === 0;
  await writeFile(
    join(dir, 'opentracker.conf'),
    [
      `listen.tcp 127.0.0.1:${port}`,
      `listen.udp 127.0.0.1:${port}`,
      `access.whitelist ${asRoot ? '/whitelist' : join(dir, 'whitelist')}`,
      `tracker.rootdir ${dir}`,
      '',
    ].join('\n'),
  );
  const program = Program.start('opentracker', 'opentracker', ['-f', join(dir, 'opentracker.conf')], { cwd: dir, logDir: dir });
  const base = `http://127.0.0.1:${port}`;
  const tracker: Tracker = {
    announceUrl: `${base}/announce`,
    async scrape(infoHash) {
      const res = await fetch(`${base}/scrape?info_hash=${percentEncodeHex(infoHash)}`);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      const num = (key: string): number => Number(new RegExp(`${key}i(\\d+)e`).exec(body)?.[1] ?? 0);
      return { complete: num('complete'), incomplete: num('incomplete') };
    },
    stop: () => program.stop(),
  };
  await waitFor(async () => (await fetch(`${base}/stats`).then((r) => r.status).catch(() => 0)) !== 0, 10_000, 'opentracker to listen');
  return tracker;
}

function percentEncodeHex(hex: string): string {
  return hex.replace(/../g, (b) => `%${b}`);
}

export interface MadeTorrent {
  path: string;
  infoHash: string;
  magnet(trackers: readonly string[]): string;
}

/** A torrent of `target` (a file or a directory) made by mktorrent. */
export async function makeTorrent(
  target: string,
  opts: { announce?: string; webSeed?: string; out: string; pieceLengthExp?: number },
): Promise<MadeTorrent> {
  const args = ['-l', String(opts.pieceLengthExp ?? 16), '-o', opts.out];
  if (opts.announce) args.push('-a', opts.announce);
  if (opts.webSeed) args.push('-w', opts.webSeed);
  await run('mktorrent', [...args, target]);
  const { infoHash } = await parseMetainfo(await readFile(opts.out));
  return {
    path: opts.out,
    infoHash,
    magnet: (trackers) => `magnet:?xt=urn:btih:${infoHash}${trackers.map((t) => `&tr=${encodeURIComponent(t)}`).join('')}`,
  };
}

/** A single-file torrent of `target` made by transmission-create (Debian's transmission-cli). */
export async function makeTransmissionTorrent(target: string, opts: { announce: string; out: string }): Promise<MadeTorrent> {
  await run('transmission-create', ['-o', opts.out, '-t', opts.announce, '-s', '64', target]);
  const { infoHash } = await parseMetainfo(await readFile(opts.out));
  return {
    path: opts.out,
    infoHash,
    magnet: (trackers) => `magnet:?xt=urn:btih:${infoHash}${trackers.map((t) => `&tr=${encodeURIComponent(t)}`).join('')}`,
  };
}

/**
 * transmission-cli seeding `torrent` whose data is already in `dir`, with a config directory of its
 * own (DHT, LPD, PEX, uTP and port mapping off; bound to loopback); resolves once the tracker
 * lists it as a seeder.
 */
export async function startTransmissionSeeder(opts: { torrent: MadeTorrent; dir: string; tracker: Tracker }): Promise<Program> {
  const port = await freePort();
  const configDir = await newTestDir('transmission');
  const settings = {
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'port-forwarding-enabled': false,
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    'peer-port': port,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
  };
  await writeFile(join(configDir, 'settings.json'), JSON.stringify(settings));
  const args = ['-g', configDir, '-w', opts.dir, '-p', String(port), opts.torrent.path];
  const program = Program.start('transmission-seed', 'transmission-cli', args, { cwd: opts.dir, logDir: configDir });
  await waitFor(async () => (await opts.tracker.scrape(opts.torrent.infoHash)).complete >= 1, 30_000, `transmission-cli to announce ${opts.torrent.infoHash}`, program);
  return program;
}

const ARIA2_QUIET = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--interface=127.0.0.1',
  '--disable-ipv6=true',
  '--console-log-level=warn',
  '--summary-interval=0',
  '--file-allocation=none',
];

/** aria2c seeding `torrents` whose data is already in `dir`; resolves once the tracker lists it. */
export async function startAria2Seeder(opts: {
  torrents: readonly MadeTorrent[];
  dir: string;
  tracker?: Tracker;
  /** Bytes per second, e.g. to keep a download running long enough to interrupt it. */
  uploadLimit?: number;
}): Promise<Program & { port: number }> {
  const port = await freePort();
  const args = ['-V', '--seed-ratio=0.0', `--dir=${opts.dir}`, `--listen-port=${port}`, ...ARIA2_QUIET];
  if (opts.uploadLimit) args.push(`--max-overall-upload-limit=${opts.uploadLimit}`);
  const logDir = await newTestDir('aria2-seeder');
  const program = Program.start('aria2c-seed', 'aria2c', [...args, ...opts.torrents.map((t) => t.path)], { cwd: opts.dir, logDir });
  if (opts.tracker) {
    const tracker = opts.tracker;
    for (const t of opts.torrents) {
      await waitFor(async () => (await tracker.scrape(t.infoHash)).complete >= 1, 30_000, `aria2c to announce ${t.infoHash}`, program);
    }
  }
  return Object.assign(program, { port });
}

/** A fresh aria2c that downloads `torrent` into `dir` and exits. */
export async function aria2Download(opts: { torrent: MadeTorrent; dir: string; timeoutMs: number }): Promise<void> {
  const port = await freePort();
  const args = ['--seed-time=0', `--dir=${opts.dir}`, `--listen-port=${port}`, `--bt-stop-timeout=${Math.ceil(opts.timeoutMs / 1000)}`, ...ARIA2_QUIET];
  const program = Program.start('aria2c-get', 'aria2c', [...args, opts.torrent.path], { cwd: opts.dir, logDir: opts.dir });
  const timer = setTimeout(() => void program.stop('SIGKILL'), opts.timeoutMs + 5000);
  const code = await program.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`aria2c download exited with ${code}: ${await program.log()}`);
}

export async function waitFor(test: () => Promise<boolean>, timeoutMs: number, what: string, program?: Program): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await test()) return;
    if (program && program.child.exitCode !== null) throw new Error(`${program.name} exited while waiting for ${what}: ${await program.log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${program ? `: ${await program.log()}` : ''}`);
}

async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${output}`);
}

/** An image metadata file listing `parts` (the format of shared/reference). */
export function metadataXml(parts: readonly { type: string; sha1: string; url: string }[]): string {
  return `<?xml version="1.0"?>\n<images>\n${parts
    .map((p) => `  <image>\n    <type>${p.type}</type>\n    <signature>${p.sha1}</signature>\n    <url>${escapeXml(p.url)}</url>\n  </image>\n`)
    .join('')}</images>\n`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
