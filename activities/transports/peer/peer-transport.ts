/**
 * The fleet-aware transport (docs/fleet.md): wraps the origin transports (HTTP, BitTorrent) and,
 * for a download that belongs to a distribution, takes the part from the other hosts of the
 * distribution first and asks the origin only when no peer can give it (none yet, all dropped,
 * all stalled). Either way the host reports itself to the distribution: as a source when it
 * starts (if it serves peers), with the piece hashes once its copy matched the part's signature.
 * A retried download resumes from the pieces an earlier attempt wrote (kept-prefix.ts); the
 * origin takes over a file the peer path wrote only cut to its checked pieces (origin-handover.ts).
 */
import type { Logger } from 'pino';
import type { FleetRef, PartSources, PieceHashes, SourceReport } from '../../../common/fleet-contract.js';
import type { ContentHash } from '../../../common/image-types.js';
import type { FetchRequest, FetchResult, Transport } from '../transport.js';
import { fetchFromPeers } from './fetch-from-peers.js';
import { prefixWrittenInOrder } from './kept-prefix.js';
import { handOverToOrigin, markWrittenByPeers } from './origin-handover.js';
import { prefixDigestsOfFile, usablePieceHashes } from './prefix-digests.js';
import { growingParts, type GrowingPart } from './growing-parts.js';
import type { FetchRange } from './peer-client.js';

/** How this host talks to the distribution run (through the worker's Temporal client). */
export interface FleetCoordinator {
  report(fleet: FleetRef, report: SourceReport): Promise<void>;
  sources(fleet: FleetRef, part: string): Promise<PartSources>;
}

export interface PeerTransportOptions {
  /** The origin transports, tried in order (BitTorrent first: it takes the .torrent URLs). */
  origin: readonly Transport[];
  coordinator: FleetCoordinator;
  /** Dials peers; absent when this host has no peer token (it fetches from the origin only). */
  fetchRange?: FetchRange;
  /** This host's advertised peer address; absent when it serves no peers. */
  advertise?: string;
  hostQueue: string;
  stallTimeoutMs: number;
  nameOf: (hash: ContentHash) => string;
  logger: Logger;
}

/** How long a finished download stays listed (the server then finds the file in the cache). */
const COMPLETE_KEPT_MS = 60_000;

export function createPeerTransport(options: PeerTransportOptions): Transport {
  const { origin, coordinator, logger } = options;
  const originFor = (url: string): Transport => {
    const parsed = new URL(url);
    const t = origin.find((x) => x.handles(parsed));
    if (!t) throw new Error(`no origin transport for ${url}`); // handles() below rules this out
    return t;
  };

  async function fetchToFile(request: FetchRequest): Promise<FetchResult> {
    const inner = originFor(request.url);
    const { fleet, expected } = request;
    if (!fleet || !expected) return { ...(await inner.fetchToFile(request)), via: { transport: inner.name, source: 'origin' } };
    const name = options.nameOf(expected);
    const log = logger.child({ part: name, distribution: fleet.workflowId });
    const report = (pieces?: PieceHashes): Promise<void> =>
      coordinator
        .report(fleet, { part: name, hostQueue: options.hostQueue, ...(options.advertise ? { peer: options.advertise } : {}), ...(pieces ? { pieces } : {}) })
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not report to the distribution'));

    // Ask first, then announce: the answer must not name this host.
    const sources = await coordinator.sources(fleet, name).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not ask the distribution for peers');
      return { peers: [] } as PartSources;
    });
    const others = (s: PartSources): string[] => s.peers.filter((p) => p !== options.advertise);
    /** Digests that can check this part: of its algorithm, ending in its signature. */
    const checking = (p: PieceHashes | undefined): PieceHashes | undefined =>
      usablePieceHashes(p, expected.algorithm) && p.prefixDigests.at(-1) === expected.hex ? p : undefined;
    const { resume } = request;

    // A transport writing front to back is served from its file as it grows; one writing out of
    // order (BitTorrent) from the verified pieces it tells of (onServable); both say how far they got.
    let growing: GrowingPart = { path: request.destPath, sequential: true };
    growingParts.set(name, growing);
    const onProgress: FetchRequest['onProgress'] = (p) => {
      growing = { ...growing, bytesDone: p.bytesDone, ...(p.bytesTotal !== undefined ? { bytesTotal: p.bytesTotal } : {}) };
      growingParts.set(name, growing);
      request.onProgress?.(p);
    };
    const onServable: FetchRequest['onServable'] = (bytes) => {
      growing = { ...growing, path: bytes.path, sequential: false, has: bytes.has, bytesTotal: bytes.bytesTotal };
      growingParts.set(name, growing);
    };
    /** The whole verified file is at destPath until the download activity moves it into the cache. */
    const complete = (bytes: number): void => {
      growingParts.set(name, { path: request.destPath, sequential: true, bytesDone: bytes, bytesTotal: bytes });
      setTimeout(() => growingParts.delete(name, request.destPath), COMPLETE_KEPT_MS).unref();
    };
    // Also without a peer endpoint: the distribution starts its other sites once any host is at it.
    await report();
    try {
      /** The digests to cut a file the peer path wrote to before the origin resumes it (none: cut to nothing). */
      let checkedBy = checking(sources.pieces);
      if (options.fetchRange && others(sources).length > 0) {
        log.info({ peers: others(sources) }, 'fetching from peers');
        if (resume) await markWrittenByPeers(resume.statePath);
        const claimed = resume ? prefixWrittenInOrder(resume.lastProgress) : 0;
        const reportedTotal = resume?.lastProgress?.bytesTotal;
        const got = await fetchFromPeers({
          name,
          destPath: request.destPath,
          hashAlgorithm: expected.algorithm,
          partHex: expected.hex,
          ...(claimed > 0 ? { resume: { claimed, ...(reportedTotal !== undefined ? { reportedTotal } : {}) } } : {}),
          peers: others(sources),
          ...(sources.pieces ? { pieces: sources.pieces } : {}),
          refresh: async () => {
            const s = await coordinator.sources(fleet, name);
            return { ...s, peers: others(s) };
          },
          fetchRange: options.fetchRange,
          stallTimeoutMs: options.stallTimeoutMs,
          ...(request.signal ? { signal: request.signal } : {}),
          onProgress,
          logger: log,
        });
        if (got.ok && got.hashHex === expected.hex) {
          log.info({ bytes: got.bytes, bytesResumed: got.bytesResumed }, 'part fetched from peers');
          complete(got.bytes);
          await report(got.pieces);
          const resumed = got.bytesResumed > 0 ? { bytesResumed: got.bytesResumed } : {};
          return { bytes: got.bytes, hashHex: got.hashHex, ...resumed, via: { transport: 'peer', source: 'peer' } };
        }
        const reason = got.ok ? `the ${got.bytes} bytes from peers do not match the part's ${expected.algorithm}` : got.reason;
        log.warn({ reason }, 'falling back to the origin');
        // A wrong whole part means no digests checked it: nothing of it is kept.
        checkedBy = got.ok ? undefined : checking(got.trusted);
      }
      if (resume) {
        const kept = await handOverToOrigin({ ...request, resume }, checkedBy, expected.algorithm);
        if (kept !== undefined) log.info({ kept }, 'origin takes over the pieces fetched from peers that match their hashes');
      }
      growing = { path: request.destPath, sequential: inner.name === 'http' };
      growingParts.set(name, growing);
      const got = await inner.fetchToFile({ ...request, onProgress, onServable });
      if (got.hashHex === expected.hex) {
        complete(got.bytes);
        await report(await prefixDigestsOfFile(request.destPath, got.bytes, expected.algorithm));
      }
      return { ...got, via: { transport: inner.name, source: 'origin' } };
    } catch (err) {
      growingParts.delete(name, growing.path);
      throw err;
    }
  }

  return {
    name: 'peer',
    handles: (url) => origin.some((t) => t.handles(url)),
    fetchToFile,
  };
}
