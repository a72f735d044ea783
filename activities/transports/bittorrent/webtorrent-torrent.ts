/**
 * One torrent in a webtorrent client, typed (webtorrent ships no types): its files, progress, the
 * pieces it fetches in which order, and which sources it uses (peers; web seeds only when asked).
 * Only this file and webtorrent-client.ts touch webtorrent's objects.
 */
import { join } from 'node:path';
import type { RawTorrent } from 'webtorrent';
import { wrapAroundRanges } from './piece-order.js';
import type { WebSeedRequest } from './web-seed-request.js';

/** What our side keeps per webtorrent torrent, beside it (a `Torrent` wrapper is made per lookup). */
export interface TorrentSources {
  /** The torrent's allowed web seeds; webtorrent gets them only while `webSeedsOn`. */
  webSeeds: readonly string[];
  webSeedsOn: boolean;
  /** Bytes received from BitTorrent peers (web seeds not counted). */
  peerBytes: number;
}

const sourcesOf = new WeakMap<RawTorrent, TorrentSources>();

/** Start the bookkeeping of a torrent just added to webtorrent (web seeds off). */
export function trackSources(raw: RawTorrent, webSeeds: readonly string[]): void {
  const sources: TorrentSources = { webSeeds: [...webSeeds], webSeedsOn: false, peerBytes: 0 };
  sourcesOf.set(raw, sources);
  raw.on('wire', (wire: RawWire) => {
    if (wire.type === 'webSeed') return;
    wire.on('download', (bytes: number) => (sources.peerBytes += bytes));
  });
}

interface RawWire {
  readonly type: string;
  on(event: 'download', listener: (bytes: number) => void): void;
}

export interface TorrentStats {
  infoHash: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  /** Pieces present and hash-checked, on disk or from peers. */
  piecesVerified: number;
  peers: number;
  /** Bytes received from peers and web seeds since this torrent was added (including rejected ones). */
  received: number;
  /** Of `received`, the bytes from BitTorrent peers (the rest came from web seeds). */
  receivedFromPeers: number;
  uploaded: number;
}

export interface TorrentFileState {
  path: string;
  length: number;
  /** Verified bytes of this file. */
  downloaded: number;
  done: boolean;
}

export class TorrentClosedError extends Error {
  override readonly name = 'TorrentClosedError';
}

/** One torrent in a client. */
export class Torrent {
  constructor(private readonly raw: RawTorrent) {}

  get infoHash(): string {
    return this.raw.infoHash;
  }
  get name(): string {
    return this.raw.name;
  }
  get closed(): boolean {
    return this.raw.destroyed;
  }
  get hasMetadata(): boolean {
    return this.raw.files.length > 0;
  }

  files(): TorrentFileState[] {
    return this.raw.files.map((f) => ({ path: f.path, length: f.length, downloaded: f.downloaded, done: f.done }));
  }

  /** Absolute path of file `index` on disk. */
  filePath(index: number): string {
    return join(this.raw.path, this.file(index).path);
  }

  stats(): TorrentStats {
    const pieceCount = this.raw.pieces.length;
    let piecesVerified = 0;
    const bitfield = this.raw.bitfield;
    if (bitfield) for (let i = 0; i < pieceCount; i++) if (bitfield.get(i)) piecesVerified++;
    return {
      infoHash: this.raw.infoHash,
      length: this.raw.length ?? 0,
      pieceLength: this.raw.pieceLength ?? 0,
      pieceCount,
      piecesVerified,
      peers: this.raw.numPeers,
      received: this.raw.received,
      receivedFromPeers: this.sources.peerBytes,
      uploaded: this.raw.uploaded,
    };
  }

  /** Whether bytes `start`..`end` (exclusive) of file `index` are in verified pieces, written to disk. */
  hasFileBytes(index: number, start: number, end: number): boolean {
    const bitfield = this.raw.bitfield;
    if (this.raw.destroyed || !bitfield) return false;
    if (end <= start) return true;
    const file = this.file(index);
    // webtorrent sets a piece's bit once the store has written it.
    const first = Math.floor((file.offset + start) / this.raw.pieceLength);
    const last = Math.floor((file.offset + end - 1) / this.raw.pieceLength);
    for (let i = first; i <= last; i++) if (!bitfield.get(i)) return false;
    return true;
  }

  /** Web seeds fetch their ranges with `request` (web-seed-request.ts), not webtorrent's own fetch. */
  requestWebSeedsWith(request: WebSeedRequest): void {
    this.raw.webSeedRequest = request;
  }

  /**
   * Calls `listener` with the bytes of file `index` in each piece as soon as the piece is verified,
   * before it is written: `fileStart` is where `data` begins in the file (negative when the piece
   * begins in an earlier file), and `data` is valid only during the call. Returns the unsubscribe.
   */
  onVerifiedFileBytes(index: number, listener: (fileStart: number, data: Uint8Array) => void): () => void {
    const offset = this.file(index).offset;
    const pieceLength = this.raw.pieceLength;
    const onPiece = (piece: number, data: Uint8Array): void => listener(piece * pieceLength - offset, data);
    this.raw.on('verified-piece-data', onPiece);
    return () => this.raw.off('verified-piece-data', onPiece);
  }

  /** Resolves once the file list and piece hashes are known (at once for a .torrent file). */
  whenMetadata(signal?: AbortSignal): Promise<void> {
    return this.until(() => this.hasMetadata, 'metadata', signal);
  }

  /** Resolves once what is on disk has been checked against the piece hashes. */
  whenReady(signal?: AbortSignal): Promise<void> {
    return this.until(() => this.raw.ready, 'ready', signal);
  }

  /**
   * Download file `index` only, its pieces in order from `startFraction` (0 ≤ f < 1) of the way
   * through, wrapping around (see piece-order.ts; 0: from the first piece).
   */
  selectOnly(index: number, startFraction = 0): void {
    const file = this.file(index);
    this.raw.files.forEach((f) => f.deselect());
    if (file.length === 0) return;
    const first = Math.floor(file.offset / this.raw.pieceLength);
    const last = Math.floor((file.offset + file.length - 1) / this.raw.pieceLength);
    for (const r of wrapAroundRanges(first, last, startFraction)) this.raw.select(r.from, r.to, r.priority);
  }

  /** Whether the torrent has web seeds to fall back on. */
  get hasWebSeeds(): boolean {
    return this.sources.webSeeds.length > 0;
  }

  get webSeedsOn(): boolean {
    return this.sources.webSeedsOn;
  }

  /** Let webtorrent use the torrent's web seeds, or take them away (requests in flight are cancelled). */
  useWebSeeds(on: boolean): void {
    const sources = this.sources;
    if (on === sources.webSeedsOn || this.raw.destroyed) return;
    sources.webSeedsOn = on;
    for (const url of sources.webSeeds) {
      if (on) this.raw.addWebSeed(url);
      else this.raw.removePeer(url);
    }
  }

  /** Resolves when every piece of file `index` is verified. */
  whenFileDone(index: number, signal?: AbortSignal): Promise<void> {
    const file = this.file(index);
    return this.until(() => file.done, { emitter: file, event: 'done' }, signal);
  }

  /** The torrent as a .torrent file (also for a magnet link, once its metadata came). */
  metainfo(): Uint8Array | undefined {
    return this.raw.torrentFile;
  }

  addPeer(address: string): void {
    this.raw.addPeer(address);
  }

  onWarning(listener: (err: Error) => void): () => void {
    this.raw.on('warning', listener);
    return () => this.raw.off('warning', listener);
  }

  /** Stop it and close its files; `deleteData` also removes what it wrote. */
  close({ deleteData }: { deleteData: boolean }): Promise<void> {
    if (this.raw.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.raw.destroy({ destroyStore: deleteData }, () => resolve()));
  }

  private get sources(): TorrentSources {
    let sources = sourcesOf.get(this.raw);
    if (!sources) {
      sources = { webSeeds: [], webSeedsOn: false, peerBytes: 0 };
      sourcesOf.set(this.raw, sources);
    }
    return sources;
  }

  private file(index: number) {
    const file = this.raw.files[index];
    if (!file) throw new Error(`torrent ${this.raw.infoHash} has no file #${index}`);
    return file;
  }

  /** Wait for `event` unless `test()` already holds; rejects on the torrent's error or close, or abort. */
  private until(
    test: () => boolean,
    on: string | { emitter: NodeJS.EventEmitter; event: string },
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (this.raw.destroyed) return Promise.reject(new TorrentClosedError(`torrent ${this.raw.infoHash} was closed`));
    if (test()) return Promise.resolve();
    const { emitter, event } = typeof on === 'string' ? { emitter: this.raw, event: on } : on;
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        emitter.off(event, onEvent);
        this.raw.off('error', onError);
        this.raw.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onEvent = (): void => {
        cleanup();
        resolve();
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onClose = (): void => {
        cleanup();
        reject(new TorrentClosedError(`torrent ${this.raw.infoHash} was closed`));
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      emitter.on(event, onEvent);
      this.raw.on('error', onError);
      this.raw.on('close', onClose);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

