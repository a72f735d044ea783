/**
 * An ImageProxy installation for one test: its own data directory, config and site names, with
 * real workers in this process against the shared Temporal dev server, and a real client.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ImageProxyClient } from '../../client/image-proxy-client.js';
import { ConfigSchema, type Config } from '../../config/config-schema.js';
import { destination, multistream, pino, type Level } from 'pino';
import { installTemporalLogging } from '../../workers/temporal-logging.js';
import { createSiteWorker, type SiteWorker } from '../../workers/site-worker.js';

export interface World {
  dataDir: string;
  config: Config;
  client: ImageProxyClient;
  address: string;
  /** Workers started so far. */
  workers: SiteWorker[];
  /** Every log line of this world's workers so far (all levels), for leak scans. */
  logText(): string;
  /** Start a worker of `site`; `dataDir` gives it a disk of its own (another host). */
  startWorker(site: string, opts?: { hostId?: string; dataDir?: string }): Promise<SiteWorker>;
  stop(): Promise<void>;
}

/** A site name no other test uses, so workers of other tests never take this test's tasks. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function newTestDir(name: string): Promise<string> {
  const dir = resolve('.test-tmp', uniqueName(name));
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * `http.allowedNetworks` for a test installation: its origins, peers and trackers listen on
 * loopback, which the outbound policy refuses by default.
 */
export const LOOPBACK_NETWORKS = ['127.0.0.0/8', '::1/128'];

/** A config file's `http` section allowing loopback (for tests that write a config file). */
export const LOOPBACK_HTTP = { allowedNetworks: LOOPBACK_NETWORKS };

/**
 * Start an ImageProxy for `sites` (raw config values, validated like a config file). Workers for
 * every site start unless `startWorkers: false`.
 */
export async function startWorld(opts: {
  sites: Record<string, unknown>;
  /** The config's `http` section; `allowedNetworks` defaults to loopback (the tests' origins). */
  http?: Record<string, unknown>;
  bittorrent?: unknown;
  /** The config's `cache` section (quota). */
  cache?: unknown;
  /** The config's `gc` section (scheduled clean-up). */
  gc?: unknown;
  /** The config's `retryFor` (how long faults that may get better are retried). */
  retryFor?: string;
  startWorkers?: boolean;
}): Promise<World> {
  const dataDir = await newTestDir('world');
  const rawConfig = {
    sites: opts.sites,
    http: { allowedNetworks: LOOPBACK_NETWORKS, ...opts.http },
    ...(opts.bittorrent ? { bittorrent: opts.bittorrent } : {}),
    ...(opts.cache ? { cache: opts.cache } : {}),
    ...(opts.gc ? { gc: opts.gc } : {}),
    ...(opts.retryFor ? { retryFor: opts.retryFor } : {}),
  };
  const config = ConfigSchema.parse(rawConfig);
  // The CLI run against this world (IMAGEPROXY_DATA_DIR) reads the same sites as its workers.
  await writeFile(join(dataDir, 'config.json'), JSON.stringify(rawConfig));
  const address = inject('temporalAddress');
  const workflowBundle = { code: await readFile(inject('workflowBundlePath'), 'utf8') };
  // Lines at the chosen level go to stderr as usual; every line, down to trace, is kept for leak scans.
  const logLines: string[] = [];
  const logger = pino({ level: 'trace', base: { service: 'imageproxy' } }, multistream([
    { level: (process.env.IMAGEPROXY_LOG_LEVEL ?? 'warn') as Level, stream: destination(2) },
    { level: 'trace', stream: { write: (line: string) => void logLines.push(line) } },
  ]));
  installTemporalLogging(logger);
  const client = await ImageProxyClient.connect({ address, namespace: 'default' });
  // One connection per host, as in a worker process: the sites of a host share it; two hosts of
  // one site (two processes in production) each have their own, as Temporal wants for one queue.
  const hosts = new Map<string, { connection: NativeConnection; client: Client }>();
  const hostConnection = async (key: string): Promise<{ connection: NativeConnection; client: Client }> => {
    let host = hosts.get(key);
    if (!host) {
      const connection = await NativeConnection.connect({ address });
      host = { connection, client: new Client({ connection, namespace: 'default' }) };
      hosts.set(key, host);
    }
    return host;
  };
  const workers: SiteWorker[] = [];
  const running: Promise<void>[] = [];

  const world: World = {
    dataDir,
    config,
    client,
    address,
    workers,
    logText: () => logLines.join(''),
    async startWorker(site, o = {}) {
      const hostId = o.hostId ?? 'test-host';
      const host = await hostConnection(`${hostId}\n${o.dataDir ?? dataDir}`);
      const worker = await createSiteWorker({
        site,
        config,
        configDir: dataDir,
        dataDir: o.dataDir ?? dataDir,
        hostId,
        connection: host.connection,
        client: host.client,
        namespace: 'default',
        logger,
        workflowBundle,
      });
      workers.push(worker);
      running.push(worker.run());
      return worker;
    },
    async stop() {
      await Promise.all(workers.map((w) => w.shutdown()));
      await Promise.allSettled(running);
      await client.close();
      for (const host of hosts.values()) await host.connection.close();
      if (!process.env.KEEP_TEST_DIRS) await rm(dataDir, { recursive: true, force: true });
    },
  };
  if (opts.startWorkers !== false) for (const site of Object.keys(opts.sites)) await world.startWorker(site);
  return world;
}

export function cacheDirOf(world: World): string {
  return join(world.dataDir, 'cache');
}
