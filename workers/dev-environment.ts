/**
 * A worker process (`imageproxy worker`) and the embedded default (`imageproxy dev`: a Temporal
 * dev server, state in `<data>/temporal.db`, UI on, and a worker for every configured site). With
 * a Temporal address in the environment or the profile file (client/temporal-connection.ts), that
 * server is used instead and only the workers run here (this is how ImageProxy runs on a cluster).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { connectWorkerConnection, temporalSettings, type TemporalSettings } from '../client/temporal-connection.js';
import type { Config } from '../config/config-schema.js';
import { installTemporalRuntime } from './temporal-logging.js';
import { requireSearchAttributes } from './search-attributes.js';
import { createSiteWorker, type SiteWorker } from './site-worker.js';
import { workflowBundleForWorkers } from './workflow-source.js';
import { startMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';
import { freePort, startDevServer, type DevServer } from './temporal-cli.js';
import { deploymentOptions, makeCurrentIfNone, makeCurrentWhenPolled, workerDeployment, type WorkerDeployment } from './worker-deployment.js';

export interface WorkersOptions {
  config: Config;
  configDir: string;
  /** Sites to serve. @default every site in the config */
  sites?: string[];
  dataDir: string;
  hostId: string;
  /** Where Temporal is and how to reach it. */
  settings: TemporalSettings;
  logger: Logger;
  /** Serve Prometheus metrics on this port (loopback unless `metricsHost`). @default off */
  metricsPort?: number;
  metricsHost?: string;
  /** After SIGTERM, how long running activities may go on (ms-formatted). @default '30s' */
  shutdownGraceTime?: string;
  /** The version these workers announce. @default workerDeployment() */
  deployment?: WorkerDeployment;
  /** See `SiteWorkerOptions.onEvicting`. */
  onEvicting?: (victim: string) => void;
}

export interface Workers {
  workers: SiteWorker[];
  deployment: WorkerDeployment;
  client: Client;
  /** Settles when every worker has stopped and the connection is closed. */
  done: Promise<void>;
  /** Where Prometheus scrapes this process, with `metricsPort`. */
  metricsUrl?: string;
}

/**
 * Start the workers of the given sites on one connection; they run until shut down (SIGTERM
 * too). Refuses to start, naming what to run, when the namespace lacks the search attributes.
 */
export async function startWorkers(options: WorkersOptions): Promise<Workers> {
  const sites = options.sites ?? Object.keys(options.config.sites);
  const { settings } = options;
  let runtimeMetricsUrl: string | undefined;
  if (options.metricsPort !== undefined) {
    const runtimePort = await freePort();
    if (installTemporalRuntime(options.logger, { prometheusBindAddress: `127.0.0.1:${runtimePort}` })) {
      runtimeMetricsUrl = `http://127.0.0.1:${runtimePort}/metrics`;
    } else options.logger.warn('the Temporal runtime was installed before: its worker metrics are not served');
  } else installTemporalRuntime(options.logger);
  const connection = await connectWorkerConnection(settings);
  const workers: SiteWorker[] = [];
  let metrics: MetricsEndpoint | undefined;
  try {
    if (options.metricsPort !== undefined) {
      metrics = await startMetricsEndpoint({
        port: options.metricsPort,
        ...(options.metricsHost ? { host: options.metricsHost } : {}),
        ...(runtimeMetricsUrl ? { runtimeUrl: runtimeMetricsUrl } : {}),
      });
      options.logger.info({ url: metrics.url }, 'serving metrics');
    }
    await requireSearchAttributes(connection, settings.namespace);
    const client = new Client({ connection, namespace: settings.namespace });
    const deployment = options.deployment ?? workerDeployment();
    // A prebuilt bundle (IMAGEPROXY_WORKFLOW_BUNDLE: a file written by bundleWorkflows) spares each
    // worker process the seconds of bundling: tests and bench/fleet start many on one machine.
    const prebuilt = process.env.IMAGEPROXY_WORKFLOW_BUNDLE;
    const workflowBundle = prebuilt ? { codePath: prebuilt } : await workflowBundleForWorkers();
    for (const site of sites) {
      workers.push(
        await createSiteWorker({
          ...options,
          site,
          workflowBundle,
          connection,
          client,
          namespace: settings.namespace,
          deployment: deploymentOptions(deployment),
          ...(options.shutdownGraceTime !== undefined ? { shutdownGraceTime: options.shutdownGraceTime } : {}),
        }),
      );
    }
    const closeAll = async (): Promise<void> => {
      await metrics?.close();
      await connection.close();
    };
    const done = Promise.all(workers.map((w) => w.run())).then(closeAll, async (err: unknown) => {
      await closeAll();
      throw err;
    });
    // A first install (no current version yet) gets work at once; later versions wait for the roll-out command.
    makeCurrentIfNone(client, deployment).then(
      (outcome) => options.logger.info({ ...deployment, outcome }, 'worker deployment version'),
      (err: unknown) => options.logger.warn({ err: (err as Error).message }, 'could not check the current worker deployment version'),
    );
    return { workers, deployment, client, done, ...(metrics ? { metricsUrl: metrics.url } : {}) };
  } catch (err) {
    await Promise.all(workers.map((w) => w.shutdown()));
    await metrics?.close();
    await connection.close();
    throw err;
  }
}

export interface DevEnvironment {
  address: string;
  namespace: string;
  settings: TemporalSettings;
  uiUrl?: string;
  metricsUrl?: string;
  workers: SiteWorker[];
  /** Settles when every worker has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface DevOptions extends Omit<WorkersOptions, 'settings'> {
  /** Use this cluster instead of starting a server. @default one from the environment/profile, if it names an address */
  settings?: TemporalSettings;
  port?: number;
  uiPort?: number;
  headless?: boolean;
}

export async function startDevEnvironment(options: DevOptions): Promise<DevEnvironment> {
  let server: DevServer | undefined;
  const configured = options.settings ?? temporalSettings();
  let settings = configured;
  if (!configured.addressConfigured) {
    await mkdir(options.dataDir, { recursive: true });
    server = await startDevServer({
      dbFile: join(options.dataDir, 'temporal.db'),
      namespace: configured.namespace,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
      ...(options.headless !== undefined ? { headless: options.headless } : {}),
    });
    // Our own server: plain gRPC whatever TLS settings the environment holds for clusters.
    settings = temporalSettings({ plain: true, address: server.address, namespace: configured.namespace });
  }
  let started: Workers;
  try {
    started = await startWorkers({ ...options, settings });
    // The server we started has no operator: its workers' version becomes current at once.
    if (server) await makeCurrentWhenPolled(started.client, started.deployment);
  } catch (err) {
    await server?.stop();
    throw err;
  }
  const { workers, done } = started;
  return {
    address: settings.address,
    namespace: settings.namespace,
    settings,
    ...(server?.uiUrl ? { uiUrl: server.uiUrl } : {}),
    ...(started.metricsUrl ? { metricsUrl: started.metricsUrl } : {}),
    workers,
    done,
    async stop() {
      await Promise.all(workers.map((w) => w.shutdown()));
      await done.catch(() => undefined);
      await server?.stop();
    },
  };
}
