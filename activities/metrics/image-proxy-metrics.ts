/**
 * ImageProxy's own Prometheus metrics, one registry per process (the worker's runtime serves
 * Temporal's metrics apart; workers/metrics-endpoint.ts serves both on one port). Activities and
 * transports count here; nothing here does I/O. The fleet's peer transport counts its bytes with
 * `countFetched(transport, 'peer', n)` and `countServedToPeers(transport, n)`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

const bytesFetched = new Counter({
  name: 'imageproxy_bytes_fetched_total',
  help: 'Bytes of image parts received, by transport and by source (origin or peer)',
  labelNames: ['transport', 'source'] as const,
  registers: [registry],
});

const bytesServedToPeers = new Counter({
  name: 'imageproxy_bytes_served_to_peers_total',
  help: 'Bytes of image parts sent to other ImageProxy hosts or BitTorrent peers, by transport',
  labelNames: ['transport'] as const,
  registers: [registry],
});

const cacheLookups = new Counter({
  name: 'imageproxy_cache_lookups_total',
  help: 'Parts asked of the download cache, by result (hit or miss)',
  labelNames: ['result'] as const,
  registers: [registry],
});

const cacheEvictions = new Counter({
  name: 'imageproxy_cache_evictions_total',
  help: 'Files evicted from the download cache to make room',
  registers: [registry],
});

const registrations = new Counter({
  name: 'imageproxy_registrations_total',
  help: 'Registrations at a site, by outcome (registered, already_registered, failed)',
  labelNames: ['site', 'outcome'] as const,
  registers: [registry],
});

const stageSeconds = new Histogram({
  name: 'imageproxy_stage_seconds',
  help: 'Time of one activity of a registration stage (lookup, metadata, download, register), by site',
  labelNames: ['site', 'stage'] as const,
  buckets: [0.05, 0.25, 1, 5, 30, 120, 600, 3600, 14_400],
  registers: [registry],
});

/** Sources of "bytes held": each cache of this process says how many bytes it holds now. */
const heldSources = new Map<string, () => number>();
new Gauge({
  name: 'imageproxy_cache_bytes_held',
  help: 'Bytes in the download cache, by cache directory',
  labelNames: ['cache'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [cache, held] of heldSources) {
      try {
        this.set({ cache }, held());
      } catch {
        heldSources.delete(cache); // its worker stopped and closed the index
      }
    }
  },
});

export type FetchSource = 'origin' | 'peer';
export type RegistrationOutcome = 'registered' | 'already_registered' | 'failed';
export type Stage = 'lookup' | 'metadata' | 'download' | 'register';

export function countFetched(transport: string, source: FetchSource, bytes: number): void {
  if (bytes > 0) bytesFetched.inc({ transport, source }, bytes);
}

export function countServedToPeers(transport: string, bytes: number): void {
  if (bytes > 0) bytesServedToPeers.inc({ transport }, bytes);
}

export function countCacheLookup(hit: boolean): void {
  cacheLookups.inc({ result: hit ? 'hit' : 'miss' });
}

export function countEvictions(n: number): void {
  if (n > 0) cacheEvictions.inc(n);
}

export function countRegistration(site: string, outcome: RegistrationOutcome): void {
  registrations.inc({ site, outcome });
}

/** Report the bytes a cache holds whenever metrics are read (the same directory counts once). */
export function reportCacheBytes(cache: string, held: () => number): void {
  heldSources.set(cache, held);
}

/** Run `fn`, recording its time under `stage`, whether it succeeds or not. */
export async function timeStage<T>(site: string, stage: Stage, fn: () => Promise<T>): Promise<T> {
  const end = stageSeconds.startTimer({ site, stage });
  try {
    return await fn();
  } finally {
    end();
  }
}
