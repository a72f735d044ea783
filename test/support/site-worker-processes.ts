/**
 * Real `imageproxy worker --site S` processes for tests that stop one (SIGTERM, SIGKILL) and start
 * the next on the same host directory (`<hostDir>/config.json`, `<hostDir>/data`, host id
 * `host-<site>`), keeping each one's log to show when it did not exit as expected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export class SiteWorkerProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly logs = new Map<ChildProcess, string>();

  constructor(private readonly temporalAddress: string) {}

  /** Starts a worker and answers once it serves its site (rejects if it exits before). */
  async start(site: string, hostDir: string, extraArgs: string[] = []): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['bin/imageproxy.js', 'worker', '--site', site, ...extraArgs], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.temporalAddress,
        IMAGEPROXY_DATA_DIR: join(hostDir, 'data'),
        IMAGEPROXY_CONFIG: join(hostDir, 'config.json'),
        IMAGEPROXY_HOST_ID: `host-${site}`,
        IMAGEPROXY_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.children.push(child);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        this.logs.set(child, log);
        if (log.includes('serving sites')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before serving:\n${log}`)));
    });
    return child;
  }

  /** The exit code, and the end of the worker's log to show when it is not the expected one. */
  async exitOf(child: ChildProcess): Promise<{ code: number | null; log: string }> {
    const code = child.exitCode !== null ? child.exitCode : await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    return { code, log: (this.logs.get(child) ?? '').slice(-3000) };
  }

  /** SIGKILL of every worker still running. */
  killAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
