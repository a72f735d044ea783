/**
 * BitTorrent transport: `.torrent` URLs (the metainfo fetched over HTTP) and `magnet:` links.
 * The torrent downloads into `<data>/bittorrent/<info hash>/` in the worker's shared client; when
 * the chosen file is complete it is hard-linked to the destination and hashed by one sequential
 * read (pieces arrive out of order, so the image hash cannot be computed as they arrive), and the
 * torrent stays to seed other sites. A retry after a crash re-adds the torrent on the same
 * directory, where webtorrent re-verifies the pieces already there instead of fetching them again.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorType, ImageProxyError } from '../../../common/errors.js';
import type { ContentHash } from '../../../common/image-types.js';
import type { BittorrentConfig, HttpConfig } from '../../../config/config-schema.js';
import { urlForDisplay } from '../../../common/url-for-display.js';
import { SCRATCH_OWNER } from '../../files/scratch-owner.js';
import { createOutboundPolicy } from '../../network/outbound-policy.js';
import { hashFile } from '../hash-file.js';
import { followFileHash } from './following-file-hash.js';
import { originRejected, transferInterrupted } from '../transfer-errors.js';
import type { FetchRequest, FetchResult, TransferProgress, Transport } from '../transport.js';
import { allowedSources } from './allowed-sources.js';
import { webSeedRequester } from './web-seed-request.js';
import { pickTorrentFile, TorrentFileChoiceError } from './pick-torrent-file.js';
import type { SharedTorrentClient } from './shared-torrent-client.js';
import { isTorrentUrl, parseTorrentUrl, TorrentUrlError, type TorrentSource } from './torrent-url.js';
import { parseMagnet, parseMetainfo, type TorrentDescription } from './webtorrent-client.js';
import type { Torrent } from './webtorrent-torrent.js';
import { StallWatch } from './stall-watch.js';
import { WebSeedSwitch } from './web-seed-switch.js';

/** Progress is reported this often while a torrent downloads. */
const PROGRESS_EVERY_MS = 1000;

export interface BittorrentTransportOptions {
  config: BittorrentConfig;
  /** The HTTP settings: web seeds obey `allowedHosts` like any HTTP origin. */
  httpConfig: HttpConfig;
  /** Fetches `.torrent` files. */
  http: Transport;
  /** The worker process's client. */
  torrents: SharedTorrentClient;
  /** Torrents download into `<dir>/<info hash>/`. Same file system as the cache (files are hard-linked). */
  dir: string;
  /** Scratch space for fetched `.torrent` files. */
  tmpDir: string;
  logger: Logger;
  /** Told which part a finished torrent holds, so the worker can keep it seeding while a distribution needs that part. */
  onSeedingPart?: (infoHash: string, part: ContentHash) => void;
}

export function createBittorrentTransport(options: BittorrentTransportOptions): Transport {
  return {
    name: 'bittorrent',
    handles: isTorrentUrl,
    fetchToFile: (request) => fetchTorrent(options, request),
  };
}

function badTorrent(message: string): ImageProxyError {
  return new ImageProxyError({ type: ErrorType.BadTorrent, message, nonRetryable: true });
}

async function fetchTorrent(options: BittorrentTransportOptions, request: FetchRequest): Promise<FetchResult> {
  const { config, logger } = options;
  let source: TorrentSource;
  try {
    source = parseTorrentUrl(request.url);
  } catch (err) {
    if (err instanceof TorrentUrlError) throw badTorrent(err.message);
    throw err;
  }
  const found = await describeSource(options, source, request);
  const sources = allowedSources(found.announce, found.urlList, {
    trackers: config.allowedTrackers,
    extraTrackers: config.extraTrackers,
    webSeeds: options.httpConfig.allowedHosts,
  });
  const policy = createOutboundPolicy({ allowedHosts: options.httpConfig.allowedHosts, allowedNetworks: options.httpConfig.allowedNetworks });
  // The operator's own trackers are dialled as configured; the torrent's trackers and web seeds
  // are held to the outbound policy on the addresses their names resolve to now (webtorrent dials
  // them itself, so this is the closest check to the address it will use).
  const passes = async (url: string, what: string): Promise<boolean> => {
    try {
      await policy.checkResolved(new URL(url));
      return true;
    } catch (err) {
      sources.dropped.push(`${what} ${urlForDisplay(url)}: ${(err as Error).message}`);
      return false;
    }
  };
  const extra = new Set(config.extraTrackers);
  const announceOk = await Promise.all(sources.announce.map((u) => extra.has(u) || passes(u, 'tracker')));
  const seedsOk = await Promise.all(sources.urlList.map((u) => passes(u, 'web seed')));
  const announce = sources.announce.filter((_, i) => announceOk[i]);
  const urlList = sources.urlList.filter((_, i) => seedsOk[i]);
  if (sources.dropped.length > 0) logger.info({ url: urlForDisplay(request.url), dropped: sources.dropped }, 'torrent sources not used');
  const description: TorrentDescription = { ...found, announce, urlList };
  const name = description.name ?? description.infoHash;
  if (description.hasMetadata) chooseFile(description.files, name, source.file, request); // fail before any peer is contacted

  const client = await options.torrents.client();
  const dir = join(options.dir, description.infoHash);
  let torrent = client.find(description.infoHash);
  if (!torrent) {
    await mkdir(dir, { recursive: true });
    torrent = client.add(description, dir);
  }
  torrent.requestWebSeedsWith(webSeedRequester(policy)); // checked as they connect, not only here
  const log = logger.child({ infoHash: description.infoHash, url: urlForDisplay(request.url) });

  const stall = new StallWatch(config.stallTimeoutMs, request.signal);
  const release = options.torrents.use(description.infoHash);
  let ticker: NodeJS.Timeout | undefined;
  let index: number | undefined;
  let webSeeds: WebSeedSwitch | undefined;
  let stopHashing: (() => Promise<void>) | undefined;
  // Report (and so heartbeat) from the start: fetching a magnet's metadata from peers, or
  // re-verifying a large file on disk, can take longer than the heartbeat timeout.
  const report = (): void => {
    if (torrent!.closed) return;
    const stats = torrent!.stats();
    stall.progress(stats.piecesVerified);
    const file = index !== undefined ? torrent!.files()[index] : undefined;
    webSeeds?.tick(stats.receivedFromPeers);
    const progress: TransferProgress = {
      bytesDone: file?.downloaded ?? 0,
      ...(file ? { bytesTotal: file.length } : {}),
      pieces: { verified: stats.piecesVerified, total: stats.pieceCount },
      peers: stats.peers,
    };
    request.onProgress?.(progress);
  };
  try {
    ticker = setInterval(report, PROGRESS_EVERY_MS);
    await torrent.whenMetadata(stall.signal);
    index = chooseFile(torrent.files(), torrent.name, source.file, request);
    await torrent.whenReady(stall.signal);
    const atStart = torrent.stats();
    log.info(
      { pieces: atStart.pieceCount, piecesOnDisk: atStart.piecesVerified, pieceLength: atStart.pieceLength, bytes: torrent.files()[index]!.length },
      atStart.piecesVerified > 0 ? 'torrent resumed: pieces on disk verified' : 'torrent started',
    );
    if (request.onServable) {
      // Read by others while it downloads (the fleet's peer endpoint): in file order, so what is
      // verified grows from the start, as the hosts reading it fetch.
      const [chosen, served] = [index, torrent];
      served.selectOnly(chosen, 0);
      request.onServable({ path: served.filePath(chosen), bytesTotal: served.files()[chosen]!.length, has: (start, end) => served.hasFileBytes(chosen, start, end) });
    } else {
      // A start of this host's own, so sites fetching at once hold different pieces to trade.
      torrent.selectOnly(index, Math.random());
    }
    // Hashed while it downloads (following-file-hash.ts), not read back after.
    const length = torrent.files()[index]!.length;
    const fileHash = followFileHash(torrent, index, request.hashAlgorithm, {
      ...(request.signal ? { signal: request.signal } : {}),
      onProgress: (bytesDone, bytesTotal) => request.onProgress?.({ bytesDone, bytesTotal }),
    });
    stopHashing = fileHash.stop;
    const canFindPeers = description.announce.length > 0 || config.dht || config.lsd || atStart.peers > 0;
    webSeeds = new WebSeedSwitch(torrent, config.webSeeds, canFindPeers, log);
    report();
    await torrent.whenFileDone(index, stall.signal);
    clearInterval(ticker);
    ticker = undefined;
    report(); // every byte: the last tick may have come before the last piece
    torrent.useWebSeeds(false); // seeding needs no origin

    const done = torrent.stats();
    log.info(
      {
        piecesOnDisk: atStart.piecesVerified,
        pieces: done.pieceCount,
        bytesReceived: done.received - atStart.received,
        bytesFromPeers: done.receivedFromPeers - atStart.receivedFromPeers,
        peers: done.peers,
      },
      'torrent complete',
    );
    fileHash.downloadDone();
    const linked = await linkOrCopy(torrent.filePath(index), request.destPath);
    let result: { bytes: number; hashHex: string };
    if (linked) {
      const followed = await fileHash.result; // the same file
      log.debug({ bytes: followed.bytes, bytesHashedFromMemory: followed.bytesFromMemory }, 'file hashed while it downloaded');
      result = followed;
    } else {
      await fileHash.stop();
      result = await hashFile(request.destPath, request.hashAlgorithm, {
        ...(request.signal ? { signal: request.signal } : {}),
        // Keeps the heartbeat going while a large file is read back.
        onBytes: () => request.onProgress?.({ bytesDone: length, bytesTotal: length }),
      });
    }
    release();
    if (request.expected) options.onSeedingPart?.(torrent.infoHash, request.expected);
    options.torrents.seedAfterDownload(torrent, dir, config.seeding);
    return result;
  } catch (err) {
    await stopHashing?.();
    // Another download of the same torrent in this process still needs it: leave it be.
    const last = release();
    const stopTorrent = async (deleteData: boolean): Promise<void> => {
      if (!last) return;
      await torrent!.close({ deleteData });
      if (deleteData) await rm(dir, { recursive: true, force: true });
    };
    if (err instanceof ImageProxyError) {
      await stopTorrent(err.nonRetryable);
      throw err;
    }
    if (stall.stalled) {
      const stats = torrent.stats();
      // Keep what was verified: the retry re-adds the torrent and re-checks it.
      await stopTorrent(false);
      throw transferInterrupted(
        `${urlForDisplay(request.url)}: no new piece for ${config.stallTimeoutMs} ms (${stats.piecesVerified} of ${stats.pieceCount} pieces verified, ${stats.peers} peers)`,
      );
    }
    if (request.signal?.aborted) {
      const reason: unknown = request.signal.reason;
      const unwanted = request.abandonedBy?.(reason) === true;
      log.info({ reason: reason instanceof Error ? reason.message : String(reason), deleteData: unwanted && last }, 'torrent stopped');
      await stopTorrent(unwanted);
      throw err;
    }
    await stopTorrent(false);
    throw transferInterrupted(`${urlForDisplay(request.url)}: ${(err as Error).message}`, err as Error);
  } finally {
    if (ticker) clearInterval(ticker);
    stall.dispose();
  }
}

/** Parse the magnet link, or fetch the .torrent file over HTTP and parse it. */
async function describeSource(options: BittorrentTransportOptions, source: TorrentSource, request: FetchRequest): Promise<TorrentDescription> {
  if (source.kind === 'magnet') {
    try {
      return await parseMagnet(source.magnet);
    } catch (err) {
      throw badTorrent(`${urlForDisplay(request.url)}: not a magnet link webtorrent can use: ${(err as Error).message}`);
    }
  }
  const tmp = join(options.tmpDir, `metainfo-${SCRATCH_OWNER}-${randomBytes(6).toString('hex')}.torrent`);
  try {
    await options.http.fetchToFile({
      url: source.metainfoUrl,
      destPath: tmp,
      hashAlgorithm: 'sha1',
      maxBytes: options.config.maxTorrentFileBytes,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const data = await readFile(tmp);
    try {
      const description = await parseMetainfo(data);
      if (!description.hasMetadata) throw new Error('no info dictionary');
      return description;
    } catch (err) {
      throw badTorrent(`${source.metainfoUrl}: not a valid .torrent file (${data.length} bytes): ${(err as Error).message}`);
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

function chooseFile(files: readonly { path: string; length: number }[], name: string, wanted: string | undefined, request: FetchRequest): number {
  let index: number;
  try {
    index = pickTorrentFile(files, name, wanted);
  } catch (err) {
    if (err instanceof TorrentFileChoiceError) throw badTorrent(`${urlForDisplay(request.url)}: ${err.message}`);
    throw err;
  }
  const length = files[index]!.length;
  if (request.maxBytes !== undefined && length > request.maxBytes) {
    throw originRejected(`${urlForDisplay(request.url)}: ${length} bytes is more than the ${request.maxBytes} allowed`);
  }
  return index;
}

/** Make `dest` the same file as `src` (a hard link, so no copy: true), or a copy across file systems (false). */
async function linkOrCopy(src: string, dest: string): Promise<boolean> {
  await rm(dest, { force: true });
  try {
    await link(src, dest);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(src, dest);
    return false;
  }
}
