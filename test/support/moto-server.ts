/**
 * A real `moto_server` (EC2 + S3 on one port, routed by the signing scope) on a free loopback
 * port, standing in for a Eucalyptus front end. See ../shared/reference/test-world.md for what
 * moto does not check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export interface MotoServer {
  /** `http://127.0.0.1:<port>`, for both EC2 and S3. */
  url: string;
  /** Forget every bucket, object and image. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** The moto_server program: on PATH, or installed into the project's .venv by scripts/install.sh. */
export function motoServerPath(): string {
  const venv = resolve('.venv', 'bin', 'moto_server');
  if (existsSync(venv)) return venv;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(resolve(dir, 'moto_server'))) return resolve(dir, 'moto_server');
  }
  throw new Error('moto_server not found: run scripts/install.sh');
}

export async function startMotoServer(): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(motoServerPath(), ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_EC2_LOAD_DEFAULT_AMIS: 'false' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited at start: ${stderr}`);
    const ok = await fetch(`${url}/moto-api/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${url} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async reset() {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}
