/**
 * The workers of one site in this process: one on the site's task queue (workflows, and the
 * activities any worker may run) and one on this host's queue of the site (download and register,
 * which share files on disk). The site's credentials live here and nowhere else.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerDeploymentOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createHostQueueActivities, createSiteQueueActivities, type ActivityDeps } from '../activities/index.js';
import { sweepScratch } from '../activities/files/scratch-owner.js';
import { HostCache } from '../activities/cache/host-cache.js';
import { reportCacheBytes } from '../activities/metrics/image-proxy-metrics.js';
import { makeRawImageOf } from '../activities/images/raw-image-of.js';
import { createHttpTransport } from '../activities/transports/http-transport.js';
import { createBittorrentTransport } from '../activities/transports/bittorrent/bittorrent-transport.js';
import { acquireSharedTorrentClient } from '../activities/transports/bittorrent/shared-torrent-client.js';
import { startFleetPeering } from '../activities/transports/peer/fleet-peering.js';
import { DISTRIBUTE_WORKFLOW_ID_PREFIX, hostTaskQueue, siteTaskQueue } from '../common/naming.js';
import type { ContentHash } from '../common/image-types.js';
import type { Config } from '../config/config-schema.js';
import { ensureCleanUpSchedule } from './clean-up-schedule.js';
import { fleetCoordinatorOf } from './fleet-coordinator.js';
import { createSiteBackend } from './site-backends.js';
import { WORKFLOWS_PATH } from './workflow-source.js';

/**
 * Heartbeats reach the server at most this often (the SDK's default is 0.8 × the heartbeat
 * timeout, 24 s for downloads): `imageproxy status` and the UI read live progress from them.
 * They cost an RPC each, no history events.
 */
const HEARTBEAT_SENT_EVERY = '2s';

/** How often a worker checks the cache holders of its host against Temporal. */
const HOLD_SWEEP_MS = 60_000;

export interface SiteWorkerOptions {
  site: string;
  config: Config;
  /** Directory the config file was read from, for relative paths in site options. */
  configDir: string;
  dataDir: string;
  hostId: string;
  /** The process's one connection to Temporal, shared by all its site workers; the caller closes it. */
  connection: NativeConnection;
  /** A client on that connection. */
  client: Client;
  namespace: string;
  logger: Logger;
  /** Worker Deployment Versioning; unversioned when absent (tests sharing one server). */
  deployment?: WorkerDeploymentOptions;
  /**
   * After SIGTERM (or `shutdown()`), how long running activities may go on before they are
   * cancelled; a transfer saves its progress in a last heartbeat either way. @default '30s'
   */
  shutdownGraceTime?: string | number;
  /** A prebuilt workflow bundle; the workflows are bundled from source when absent. */
  workflowBundle?: WorkflowBundleOption;
  /** See `HostCacheOptions.onEvicting` (crash tests pause here). */
  onEvicting?: (victim: string) => void;
}

export interface SiteWorker {
  site: string;
  siteQueue: string;
  hostQueue: string;
  /** Runs until `shutdown()` (or SIGINT/SIGTERM); rejects if a worker fails. */
  run(): Promise<void>;
  /** Info hashes of the torrents an earlier worker kept that seed again (resolves once each was re-verified). */
  seedingResumed: Promise<string[]>;
  shutdown(): Promise<void>;
}

export async function createSiteWorker(options: SiteWorkerOptions): Promise<SiteWorker> {
  const { site, config, dataDir, hostId, namespace, logger } = options;
  const siteConfig = config.sites[site];
  if (!siteConfig) throw new Error(`no site named ${site} in the config (have: ${Object.keys(config.sites).join(', ')})`);

  // After a crash at any moment: the index and the files agree before any download starts.
  const { cache } = await HostCache.open({
    dir: join(dataDir, 'cache'),
    indexFile: join(dataDir, 'cache-index.sqlite'),
    ...(config.cache.maxBytes !== undefined ? { maxBytes: config.cache.maxBytes } : {}),
    spaceWaitMs: config.cache.spaceWaitMs,
    logger: logger.child({ site }),
    ...(options.onEvicting ? { onEvicting: options.onEvicting } : {}),
  });
  reportCacheBytes(cache.dir, () => cache.bytesHeld());
  const tmpDir = join(dataDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  // Scratch of workers that were killed (bundle directories, converted images, temp files).
  const swept = await sweepScratch(tmpDir);
  if (swept.length > 0) logger.warn({ site, removed: swept }, 'removed scratch space of processes that are gone');
  const backend = await createSiteBackend(siteConfig, { site, dataDir, configDir: options.configDir });

  const { connection, client } = options;

  // Holds of runs that ended without releasing them (their host vanished, the worker was killed).
  const runIsOpen = async ({ workflowId, runId }: { workflowId: string; runId: string }): Promise<boolean> => {
    try {
      return (await client.workflow.getHandle(workflowId, runId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
  const sweepHolds = (): Promise<void> =>
    cache.releaseEndedRuns(runIsOpen).then(
      () => undefined,
      (err: unknown) => logger.warn({ err }, 'checking cache holds against Temporal failed'),
    );
  await sweepHolds();
  const sweepTimer = setInterval(() => void sweepHolds(), HOLD_SWEEP_MS);
  sweepTimer.unref();

  if (config.gc) await ensureCleanUpSchedule(client, site, config.gc);

  const siteQueue = siteTaskQueue(site);
  const hostQueue = hostTaskQueue(site, hostId);
  const http = createHttpTransport({ config: config.http });
  // One BitTorrent client per process (shared by its site workers), so torrents seed on after their download.
  const bt = config.bittorrent;
  const torrents = acquireSharedTorrentClient(
    {
      dht: bt.dht,
      lsd: bt.lsd,
      pex: bt.pex,
      utp: bt.utp,
      listenPort: bt.listenPort,
      ...(bt.listenAddress !== undefined ? { listenAddress: bt.listenAddress } : {}),
    },
    logger.child({ transport: 'bittorrent' }),
  );
  const bittorrentDir = join(dataDir, 'bittorrent');
  // Torrents a worker on this data directory was seeding when it stopped seed again.
  const seedingResumed = torrents.client.resumeSeeding(bittorrentDir, bt.seeding).catch((err: unknown) => {
    logger.warn({ err: (err as Error).message }, 'resuming the seeding of earlier torrents failed');
    return [] as string[];
  });
  // A torrent keeps seeding past its policy while a distribution still holds its part here
  // (the distribution releases its holds when every site is done). Parts seen since this start only.
  const seededParts = new Map<string, ContentHash>();
  const stopSeedingHold = torrents.client.holdSeedingWhile((infoHash) => {
    const part = seededParts.get(infoHash);
    return part !== undefined && cache.heldBy(part, DISTRIBUTE_WORKFLOW_ID_PREFIX);
  });
  const bittorrent = createBittorrentTransport({
    config: bt,
    httpConfig: config.http,
    http,
    torrents: torrents.client,
    dir: bittorrentDir,
    tmpDir,
    logger: logger.child({ site, transport: 'bittorrent' }),
    onSeedingPart: (infoHash, part) => seededParts.set(infoHash, part),
  });
  // Fleet distribution: parts of a distribution come from its other hosts first (docs/fleet.md).
  const peering = await startFleetPeering({
    peer: config.peer,
    configDir: options.configDir,
    // BitTorrent first: it takes the http(s) URLs whose path ends in .torrent.
    origin: [bittorrent, http],
    cache,
    coordinator: fleetCoordinatorOf(client.workflow),
    hostQueue,
    logger: logger.child({ site }),
  });
  const deps: ActivityDeps = {
    backend,
    cache,
    transports: [peering.transport],
    tmpDir,
    hostQueue,
    rawImageOf: makeRawImageOf({ cache, logger: logger.child({ site }) }),
    logger: logger.child({ site }),
    temporal: client.workflow,
    retryForMs: config.retryFor,
  };

  const workflowSource = options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH };
  const common = {
    connection,
    namespace,
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    maxHeartbeatThrottleInterval: HEARTBEAT_SENT_EVERY,
    ...(options.deployment ? { workerDeploymentOptions: options.deployment } : {}),
  };
  // Each queue's worker registers only that queue's activities: a call sent to the wrong one fails.
  const siteWorker = await Worker.create({ ...common, taskQueue: siteQueue, activities: createSiteQueueActivities(deps), ...workflowSource });
  const hostWorker = await Worker.create({ ...common, taskQueue: hostQueue, activities: createHostQueueActivities(deps) });

  let running: Promise<void> | undefined;
  const run = (): Promise<void> => {
    running ??= Promise.all([siteWorker.run(), hostWorker.run()])
      .finally(() => {
        stopSeedingHold();
        return torrents.release();
      })
      .finally(() => peering.close())
      .then(async () => {
        clearInterval(sweepTimer);
        cache.close();
        await backend.close?.();
      });
    return running;
  };
  return {
    site,
    siteQueue,
    hostQueue,
    run,
    seedingResumed,
    async shutdown() {
      for (const w of [siteWorker, hostWorker]) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    },
  };
}
