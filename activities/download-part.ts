/**
 * Activity: bring one image part into this host's cache, verified. A cached part is answered at
 * once; otherwise the transport writes it to the partial file, hashing as it goes, and it is moved
 * into the cache only if the hash matches. A mismatch leaves nothing behind and is not retried.
 *
 * The activity heartbeats its progress (the part's type, bytes on disk, rate and the transport's
 * resume token) every second; `status` reads it from the run's pending activities, so progress
 * costs no history event however long the download runs (no signal to the workflow). A retry after
 * a crash, a timeout or a broken connection hands the last heartbeat and the partial file to the
 * transport, which continues where the file ends.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ErrorType, ImageProxyError } from '../common/errors.js';
import type { FleetRef } from '../common/fleet-contract.js';
import type { CachedPart, ImagePart, PartSource } from '../common/image-types.js';
import type { ActivityDeps } from './activity-deps.js';
import { finalAfterRetryFor } from './retry-for.js';
import { countCacheLookup, countFetched } from './metrics/image-proxy-metrics.js';
import { pickTransport } from './transports/pick-transport.js';
import type { TransferProgress } from './transports/transport.js';
import { TransferRate } from './transfer-rate.js';
import { downloadHeartbeatOf, type DownloadHeartbeat } from '../common/download-heartbeat.js';

/** Heartbeats go out this often, from a timer: a stalled transfer still heartbeats until its idle timeout. */
const HEARTBEAT_EVERY_MS = 1000;

/** One transfer of one content on this host, shared by every activity waiting for it. */
interface SharedTransfer {
  done: Promise<{ path: string; size: number; from: PartSource }>;
  latest: TransferProgress | undefined;
  /** Activities waiting; the transfer is aborted only when all of them are cancelled. */
  waiting: number;
  abort: AbortController;
  /** Aborted because this worker shuts down: the partial file stays for the next worker's retry. */
  stoppedByShutdown?: boolean;
}

export function makeDownloadPart(deps: Pick<ActivityDeps, 'cache' | 'transports' | 'logger' | 'retryForMs'>) {
  const inFlight = new Map<string, SharedTransfer>();

  return async function downloadPart({ guid, part, fleet }: { guid: string; part: ImagePart; fleet?: FleetRef }): Promise<CachedPart> {
    const ctx = Context.current();
    const key = deps.cache.nameOf(part.hash);
    // This run holds the part until it ends (releaseCacheHolds), so it is never evicted under it.
    const run = ctx.info.workflowExecution;
    if (run) deps.cache.hold(part.hash, { workflowId: run.workflowId, runId: run.runId }, guid);
    // So does its distribution: the other sites may still fetch the part from this host.
    if (fleet) deps.cache.hold(part.hash, fleet, guid);
    let shared = inFlight.get(key);
    if (!shared) {
      const lastProgress = progressFrom(ctx.info.heartbeatDetails);
      const created: SharedTransfer = { latest: lastProgress, waiting: 0, abort: new AbortController(), done: Promise.resolve({ path: '', size: 0, from: 'cache' as PartSource }) };
      // One writer per file on this host, also across the workers of other sites sharing the cache.
      // Waiting for another worker's transfer, keep what an earlier attempt heartbeated for resuming.
      const wait = { heartbeat: () => ctx.heartbeat(ctx.info.heartbeatDetails), sleep: (ms: number) => ctx.sleep(ms) };
      created.done = deps.cache
        .exclusiveTransfer(part.hash, () => fetchVerified(guid, part, created, lastProgress, fleet), wait)
        .finally(() => inFlight.delete(key));
      inFlight.set(key, created);
      shared = created;
    }
    const transfer = shared;
    transfer.waiting++;

    const rate = new TransferRate();
    // When bytes last arrived (this attempt or an earlier one): retries are bounded from there.
    const earlier = ctx.info.heartbeatDetails as { progressAtMs?: unknown; bytesDone?: unknown } | undefined;
    let progressAtMs = typeof earlier?.progressAtMs === 'number' ? earlier.progressAtMs : undefined;
    let bytesSeen = typeof earlier?.bytesDone === 'number' ? earlier.bytesDone : 0;
    const beat = (): void => {
      const p = transfer.latest;
      if (p && p.bytesDone > bytesSeen) {
        bytesSeen = p.bytesDone;
        progressAtMs = Date.now();
      }
      // The part type and rate are for `imageproxy status`, which reads the pending activity's details.
      const bytesPerSecond = p ? rate.sample(Date.now(), p.bytesDone) : undefined;
      ctx.heartbeat(
        p
          ? ({
              ...p,
              type: part.type,
              ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}),
              ...(progressAtMs !== undefined ? { progressAtMs } : {}),
            } satisfies DownloadHeartbeat & { progressAtMs?: number })
          : undefined,
      );
    };
    const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
    const onCancel = (): void => {
      if (--transfer.waiting > 0) return;
      if (ctx.cancellationDetails?.workerShutdown) {
        transfer.stoppedByShutdown = true;
        ctx.heartbeat(transfer.latest && { type: part.type, ...transfer.latest }); // the last progress, for the next worker to resume from
      }
      transfer.abort.abort(ctx.cancellationSignal.reason);
    };
    ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    try {
      const cached = await Promise.race([transfer.done, ctx.cancelled]);
      deps.logger.info({ guid, type: part.type, size: cached.size, from: cached.from }, 'part ready');
      return { ...part, ...cached };
    } catch (err) {
      // The last waiter cancelled: answer only once the transfer has stopped and cleaned up.
      if (transfer.abort.signal.aborted) await transfer.done.catch(() => undefined);
      beat(); // notes bytes that arrived since the last beat
      throw finalAfterRetryFor(err, deps.retryForMs, progressAtMs);
    } finally {
      clearInterval(timer);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
    }
  };

  async function fetchVerified(
    guid: string,
    part: ImagePart,
    shared: SharedTransfer,
    lastProgress: TransferProgress | undefined,
    fleet: FleetRef | undefined,
  ): Promise<{ path: string; size: number; from: PartSource }> {
    const hit = await deps.cache.lookup(part.hash);
    countCacheLookup(hit !== undefined && hit !== null);
    if (hit) return { ...hit, from: 'cache' };

    const transport = pickTransport(deps.transports, part.url);
    const partialPath = deps.cache.partialPathOf(part.hash);
    // Room under the cache quota is reserved as the transfer learns the size.
    const space = deps.cache.guardTransfer(part.hash, shared.abort.signal, (p) => (shared.latest = p));
    let got;
    try {
      got = await transport.fetchToFile({
        url: part.url,
        destPath: partialPath,
        hashAlgorithm: part.hash.algorithm,
        resume: { statePath: deps.cache.resumeStatePathOf(part.hash), ...(lastProgress ? { lastProgress } : {}) },
        signal: space.signal,
        abandonedBy,
        onProgress: space.onProgress,
        expected: part.hash,
        ...(fleet ? { fleet } : {}),
      });
    } catch (caught) {
      const err = space.failure ? deps.cache.noSpaceError(space.failure, Context.current().info.scheduledTimestampMs) : caught;
      // A refused URL will not change, and a cancelled download (its registration failed or was
      // cancelled) will not be retried; a broken transfer keeps its partial file for the retry.
      // A worker's shutdown keeps it: the retry on the next worker resumes from it.
      if ((err instanceof ImageProxyError && err.nonRetryable) || (shared.abort.signal.aborted && !shared.stoppedByShutdown)) {
        await deps.cache.discardPartial(part.hash);
      }
      throw err;
    } finally {
      space.done();
    }
    // Bytes this attempt received (a resumed one skips what the partial file had).
    const via = got.via ?? { transport: transport.name, source: 'origin' };
    countFetched(via.transport, via.source, got.bytes - (got.bytesResumed ?? 0));
    if (got.bytesResumed) {
      deps.logger.info({ guid, type: part.type, resumedAt: got.bytesResumed, heartbeated: lastProgress?.bytesDone }, 'resumed');
    }
    if (got.hashHex !== part.hash.hex) {
      await deps.cache.discardPartial(part.hash);
      throw ApplicationFailure.create({
        type: ErrorType.PartHashMismatch,
        nonRetryable: true,
        message: `${part.type} part ${part.url}: ${part.hash.algorithm} of the ${got.bytes} bytes received is ${got.hashHex}, the metadata says ${part.hash.hex}`,
      });
    }
    return { ...(await deps.cache.commit(part.hash)), from: via.source === 'peer' ? 'peers' : 'origin' };
  }
}

/**
 * Whether the activity was cancelled for a reason after which nobody resumes this download: the
 * workflow cancelled it (CANCELLED), or the server no longer knows the attempt (NOT_FOUND: the
 * workflow was cancelled or closed without waiting for the activity). Worker shutdown and
 * timeouts keep the data.
 */
function abandonedBy(abortReason: unknown): boolean {
  return abortReason instanceof CancelledFailure && (abortReason.message === 'CANCELLED' || abortReason.message === 'NOT_FOUND');
}

/** The progress a previous attempt heartbeated, if its details have that shape. */
function progressFrom(details: unknown): TransferProgress | undefined {
  const beat = downloadHeartbeatOf(details);
  if (!beat) return undefined;
  return {
    bytesDone: beat.bytesDone,
    ...(beat.bytesTotal !== undefined ? { bytesTotal: beat.bytesTotal } : {}),
    ...(beat.resumeToken !== undefined ? { resumeToken: beat.resumeToken } : {}),
  };
}
