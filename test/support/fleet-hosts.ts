/**
 * Worker hosts of a fleet for tests and the bench: each an `imageproxy worker` process with its own
 * data dir, host id, site and (optionally) peer endpoint, sharing one peer token.
 */
import { spawn } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort, Program } from './bittorrent-peers.js';

export interface FleetHostOptions {
  site: string;
  dataDir: string;
  hostId: string;
  temporalAddress: string;
  tokenFile: string;
  /**
   * `peer.listen` (and `peer.advertise`); 'fetch-only': a peer section without listen; 'none': no
   * peer section; 'none-with-token': no peer section, the token copied to `peer-token` beside the config.
   */
  peer: { listen: string; advertise?: string } | 'fetch-only' | 'none' | 'none-with-token';
  /** Extra `peer` options (connectTimeoutMs, stallTimeoutMs). */
  peerOptions?: Record<string, number>;
  logLevel?: string;
  /** A prebuilt workflow bundle file (IMAGEPROXY_WORKFLOW_BUNDLE): no bundling in each process. */
  workflowBundlePath?: string;
  /** Every host started is pushed here at once, so a caller can stop it even if its start fails. */
  started?: FleetHost[];
  /** Serve Prometheus metrics on a free loopback port (`--metrics-port`). */
  metrics?: boolean;
  /** Extra node options before the script (e.g. `--cpu-prof`, for bench/fleet). */
  nodeArgs?: string[];
}

export interface FleetHost {
  site: string;
  program: Program;
  /** Parsed JSON log lines so far. */
  logLines(): Promise<Record<string, unknown>[]>;
  /** The metrics endpoint, when started with `metrics`. */
  metricsUrl?: string;
}

export async function startFleetHost(o: FleetHostOptions): Promise<FleetHost> {
  const configPath = join(o.dataDir, 'config.json');
  const peer =
    o.peer === 'none' || o.peer === 'none-with-token' ? undefined : { tokenFile: o.tokenFile, ...(o.peer === 'fetch-only' ? {} : o.peer), ...(o.peerOptions ?? {}) };
  await writeFile(
    configPath,
    JSON.stringify({
      sites: { [o.site]: { type: 'local' } },
      http: { allowedNetworks: ['127.0.0.0/8', '::1/128'] },
      bittorrent: { dht: false, lsd: false, pex: false, utp: false, listenAddress: '127.0.0.1' },
      ...(peer ? { peer } : {}),
    }),
  );
  if (o.peer === 'none-with-token') await copyFile(o.tokenFile, join(o.dataDir, 'peer-token'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: o.temporalAddress,
    IMAGEPROXY_DATA_DIR: o.dataDir,
    IMAGEPROXY_CONFIG: configPath,
    IMAGEPROXY_HOST_ID: o.hostId,
    IMAGEPROXY_LOG_LEVEL: o.logLevel ?? 'info',
    ...(o.workflowBundlePath ? { IMAGEPROXY_WORKFLOW_BUNDLE: o.workflowBundlePath } : {}),
  };
  const metricsPort = o.metrics ? await freePort() : undefined;
  const args = [resolve('bin/imageproxy.js'), 'worker', '--site', o.site, ...(metricsPort ? ['--metrics-port', String(metricsPort)] : [])];
  // --single-threaded-gc as bin/imageproxy.js's shebang gives an installed worker (node ignores a
  // shebang's options when it is handed the script).
  const child = spawn(process.execPath, ['--single-threaded-gc', ...(o.nodeArgs ?? []), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const program = new Program(o.hostId, child, join(o.dataDir, 'worker.log'));
  const host: FleetHost = {
    site: o.site,
    program,
    ...(metricsPort ? { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
    async logLines() {
      return (await program.log())
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
  o.started?.push(host);
  await waitForLog(host, /serving sites/, 300_000);
  return host;
}

export async function waitForLog(host: FleetHost, pattern: RegExp, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (pattern.test(await host.program.log())) return;
    if (host.program.child.exitCode !== null) throw new Error(`${host.program.name} exited: ${await host.program.log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${host.program.name}: no ${pattern} within ${timeoutMs} ms: ${(await host.program.log()).slice(-3000)}`);
}

/** A token file for the hosts of one fleet. */
export async function writeTokenFile(dir: string): Promise<string> {
  const path = join(dir, 'peer-token');
  await writeFile(path, `fleet-test-token-${Math.random().toString(36).slice(2)}\n`, { mode: 0o600 });
  return path;
}
