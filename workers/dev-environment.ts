/**
 * The embedded default: a Temporal dev server (state in `<data>/temporal.db`, UI on) and a worker
 * for every configured site, in one process. With `TEMPORAL_ADDRESS` set, that server is used
 * instead and only the workers run here (this is how ImageProxy runs on a real cluster).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config-schema.js';
import { installTemporalLogging } from './temporal-logging.js';
import { createSiteWorker, type SiteWorker } from './site-worker.js';
import { workflowBundleForWorkers } from './workflow-source.js';
import { startDevServer, type DevServer } from './temporal-cli.js';

export interface WorkersOptions {
  config: Config;
  configDir: string;
  /** Sites to serve. @default every site in the config */
  sites?: string[];
  dataDir: string;
  hostId: string;
  address: string;
  namespace: string;
  logger: Logger;
  /** See `SiteWorkerOptions.onEvicting`. */
  onEvicting?: (victim: string) => void;
}

/** Start the workers of the given sites; they run until shut down. */
export async function startWorkers(options: WorkersOptions): Promise<{ workers: SiteWorker[]; done: Promise<void> }> {
  const sites = options.sites ?? Object.keys(options.config.sites);
  installTemporalLogging(options.logger);
  const workflowBundle = await workflowBundleForWorkers();
  const workers: SiteWorker[] = [];
  for (const site of sites) workers.push(await createSiteWorker({ ...options, site, workflowBundle }));
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return { workers, done };
}

export interface DevEnvironment {
  address: string;
  namespace: string;
  uiUrl?: string;
  workers: SiteWorker[];
  /** Settles when every worker has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface DevOptions extends Omit<WorkersOptions, 'address' | 'namespace'> {
  /** Use this server instead of starting one. */
  address?: string;
  namespace?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
}

export async function startDevEnvironment(options: DevOptions): Promise<DevEnvironment> {
  let server: DevServer | undefined;
  let address = options.address;
  const namespace = options.namespace ?? 'default';
  if (!address) {
    await mkdir(options.dataDir, { recursive: true });
    server = await startDevServer({
      dbFile: join(options.dataDir, 'temporal.db'),
      namespace,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
      ...(options.headless !== undefined ? { headless: options.headless } : {}),
    });
    address = server.address;
  }
  const { workers, done } = await startWorkers({ ...options, address, namespace });
  return {
    address,
    namespace,
    ...(server?.uiUrl ? { uiUrl: server.uiUrl } : {}),
    workers,
    done,
    async stop() {
      await Promise.all(workers.map((w) => w.shutdown()));
      await server?.stop();
    },
  };
}
