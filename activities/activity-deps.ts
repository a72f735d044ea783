/** What the activities of one site's worker are built from. The worker constructs these. */
import type { WorkflowClient } from '@temporalio/client';
import type { Logger } from 'pino';
import type { HostCache } from './cache/host-cache.js';
import type { RawImageOf } from './images/raw-image-of.js';
import type { SiteBackend } from './sites/site-backend.js';
import type { Transport } from './transports/transport.js';

export interface ActivityDeps {
  backend: SiteBackend;
  /** This host's download cache: files, holds, quota and eviction. */
  cache: HostCache;
  transports: readonly Transport[];
  /** Scratch space on the same file system as the cache. */
  tmpDir: string;
  /** This worker's per-host task queue. */
  hostQueue: string;
  /** See `RegisterRequest.rawImageOf`; the activity lends it its heartbeat and cancellation. */
  rawImageOf: RawImageOf;
  logger: Logger;
  /** How long a fault that may get better is retried (config `retryFor`), in ms. */
  retryForMs: number;
  /** The worker's Temporal client, for activities that attach to other runs (never to sites). */
  temporal: WorkflowClient;
}
