/**
 * Activity: bring one image part into this host's cache, verified. A cached part is answered at
 * once; otherwise the transport writes it to the partial file, hashing as it goes, and it is moved
 * into the cache only if the hash matches. A mismatch leaves nothing behind and is not retried.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ErrorType } from '../common/errors.js';
import type { CachedPart, ImagePart } from '../common/image-types.js';
import type { ActivityDeps } from './activity-deps.js';
import { pickTransport } from './transports/pick-transport.js';
import type { TransferProgress } from './transports/transport.js';

/** Progress goes to the workflow at most this often (each report is a history event). */
const REPORT_EVERY_MS = 2000;

export function makeDownloadPart(deps: Pick<ActivityDeps, 'cache' | 'transports' | 'reportProgress' | 'logger'>) {
  /** Downloads of the same content on this host share one transfer. */
  const inFlight = new Map<string, Promise<CachedPart>>();

  return async function downloadPart({ guid, part }: { guid: string; part: ImagePart }): Promise<CachedPart> {
    const key = deps.cache.nameOf(part.hash);
    let shared = inFlight.get(key);
    if (!shared) {
      shared = fetchVerified(part).finally(() => inFlight.delete(key));
      inFlight.set(key, shared);
    }
    const cached = await shared;
    deps.logger.info({ guid, type: part.type, size: cached.size }, 'part ready');
    return { ...cached, type: part.type, url: part.url };
  };

  async function fetchVerified(part: ImagePart): Promise<CachedPart> {
    const hit = await deps.cache.lookup(part.hash);
    if (hit) return { ...part, ...hit };

    const ctx = Context.current();
    const workflowId = ctx.info.workflowExecution?.workflowId;
    let lastReport = 0;
    const onProgress = (p: TransferProgress): void => {
      ctx.heartbeat(p);
      const now = Date.now();
      if (workflowId && now - lastReport >= REPORT_EVERY_MS) {
        lastReport = now;
        void deps.reportProgress(workflowId, { type: part.type, ...p }).catch(() => undefined);
      }
    };

    const transport = pickTransport(deps.transports, part.url);
    const partialPath = deps.cache.partialPathOf(part.hash);
    let got;
    try {
      got = await transport.fetchToFile({
        url: part.url,
        destPath: partialPath,
        hashAlgorithm: part.hash.algorithm,
        signal: ctx.cancellationSignal,
        onProgress,
      });
    } catch (err) {
      // A refused URL will not change, and a cancelled run will not come back for the bytes;
      // a broken transfer keeps its partial file for the retry to resume.
      if ((err instanceof ApplicationFailure && err.nonRetryable) || ctx.cancellationSignal.aborted) {
        await deps.cache.discardPartial(part.hash);
      }
      throw err;
    }
    if (got.hashHex !== part.hash.hex) {
      await deps.cache.discardPartial(part.hash);
      throw ApplicationFailure.create({
        type: ErrorType.PartHashMismatch,
        nonRetryable: true,
        message: `${part.type} part ${part.url}: ${part.hash.algorithm} of the ${got.bytes} bytes received is ${got.hashHex}, the metadata says ${part.hash.hex}`,
      });
    }
    return { ...part, ...(await deps.cache.commit(part.hash)) };
  }
}
