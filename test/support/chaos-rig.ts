/**
 * The parts a chaos test kills and brings back: a Temporal dev server that keeps its state in a
 * SQLite file and restarts on the same port, and `imageproxy worker` processes with their own data
 * dir and host id (a restarted worker serves the same host queue and finds the same cache). Kill
 * points come from a seeded generator, so a failing seed can be replayed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, startDevServer, type DevServer } from '../../workers/temporal-cli.js';
import { startProcess, type Running } from './child-process.js';

/** mulberry32: a small, fast generator with a 32-bit seed; the same seed gives the same points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A dev server that survives SIGKILL: same port, same database file on every start. */
export class RestartableTemporal {
  private server: DevServer | undefined;
  private starting: Promise<void> | undefined;
  private constructor(
    readonly port: number,
    readonly dbFile: string,
  ) {}

  static async start(dir: string): Promise<RestartableTemporal> {
    const t = new RestartableTemporal(await freePort(), join(dir, 'temporal.sqlite'));
    await t.up();
    return t;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Start it unless it runs (callers at the same time share one start). */
  async up(): Promise<void> {
    if (this.server) return;
    this.starting ??= startDevServer({ port: this.port, dbFile: this.dbFile, headless: true }).then(
      (server) => {
        this.server = server;
      },
    ).finally(() => {
      this.starting = undefined;
    });
    await this.starting;
  }

  async kill(): Promise<void> {
    await this.server?.kill();
    this.server = undefined;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }
}

export interface WorkerHostOptions {
  /** Data dir of this host; its config file is `<dataDir>/config.json`. */
  dataDir: string;
  hostId: string;
  temporal: RestartableTemporal;
  /** A prebuilt workflow bundle: no bundling at each start. */
  workflowBundlePath: string;
}

/** One host's `imageproxy worker` process, started again after each kill. */
export class WorkerHost {
  private proc: Running | undefined;
  private starting: Promise<void> | undefined;
  /** Every process's output, for a failing run's message. */
  private past = '';
  /** Times a worker exited without being killed by the test. */
  exitedOnItsOwn = 0;

  constructor(private readonly o: WorkerHostOptions) {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /** Start the worker unless it runs (Temporal must be up); resolves once it serves. */
  async up(): Promise<void> {
    if (this.running) return;
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    await this.starting;
  }

  private async start(): Promise<void> {
    if (this.proc) this.exitedOnItsOwn++;
    this.past += this.proc?.output() ?? '';
    this.proc = startProcess(process.execPath, [resolve('bin/imageproxy.js'), 'worker'], {
      env: {
        TEMPORAL_ADDRESS: this.o.temporal.address,
        IMAGEPROXY_DATA_DIR: this.o.dataDir,
        IMAGEPROXY_CONFIG: join(this.o.dataDir, 'config.json'),
        IMAGEPROXY_HOST_ID: this.o.hostId,
        IMAGEPROXY_LOG_LEVEL: 'info',
        IMAGEPROXY_WORKFLOW_BUNDLE: this.o.workflowBundlePath,
        // One version for every restart: a commit made while the test runs must not start a new
        // build id that the server's current version (the first worker's) would not route runs to.
        IMAGEPROXY_BUILD_ID: 'chaos-test',
      },
    });
    await this.proc.waitFor(/serving sites/, 120_000);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    this.proc = undefined;
    this.past += proc.output();
    const gone = new Promise<void>((r) => proc.child.once('exit', () => r()));
    proc.child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  log(): string {
    return this.past + (this.proc?.output() ?? '');
  }
}

/** What a crash may leave on a host's disk: partial files, `downloading` rows, scratch. */
export async function hostLeftovers(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  const list = (dir: string): Promise<string[]> => readdir(dir, { recursive: true }).catch(() => []);
  for (const f of await list(join(dataDir, 'cache', '.partial'))) found.push(`cache/.partial/${f}`);
  // tmp/ keeps its empty per-backend folders (tmp/eucalyptus/<site>/); any file or scratch dir is left over.
  for (const f of await list(join(dataDir, 'tmp'))) {
    if (/(^|\/)(bundle-|metadata-|metainfo-)|\.raw$/.test(f)) found.push(`tmp/${f}`);
  }
  const db = new Database(join(dataDir, 'cache-index.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`SELECT name FROM entries WHERE state != 'ready'`).all() as { name: string }[];
    for (const r of rows) found.push(`cache index row ${r.name} not ready`);
  } finally {
    db.close();
  }
  return found;
}

/** CPU seconds of this process and of its children that have exited (Linux: /proc/self/stat). */
export async function cpuSeconds(): Promise<{ self: number; children: number }> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3; utime 14, stime 15, cutime 16, cstime 17 (1-based, man proc).
  const tick = 100; // USER_HZ on Linux
  const at = (n: number): number => Number(fields[n - 3]);
  return { self: (at(14) + at(15)) / tick, children: (at(16) + at(17)) / tick };
}
