/**
 * A small typed face of webtorrent (which ships no types): a client listening for peers, torrents
 * added to it, and what the BitTorrent transport needs to know about them. Only this file touches
 * webtorrent's objects.
 *
 * Over 300 lines on purpose: it is the one place that touches webtorrent's untyped objects;
 * split, that knowledge would spread over several files.
 */
import net from 'node:net';
import { join } from 'node:path';
import WebTorrent, { type RawTorrent } from 'webtorrent';
import parseTorrent, { type RawParsedTorrent } from 'parse-torrent';

export interface TorrentClientOptions {
  /** Mainline DHT. */
  dht: boolean;
  /** Local Service Discovery. */
  lsd: boolean;
  /** Peer exchange (ut_pex). */
  pex: boolean;
  /** uTP besides TCP. */
  utp: boolean;
  /** TCP port for incoming peers; 0 picks a free one. */
  listenPort: number;
  /** Bind the peer port to this address only (TCP; uTP always binds all). Default: all. */
  listenAddress?: string;
}

/** A parsed .torrent file or magnet link, before it is added to a client. */
export interface TorrentDescription {
  infoHash: string;
  /** The torrent's `info.name`; absent for a magnet link without `dn`. */
  name: string | undefined;
  announce: string[];
  /** BEP 19 web seeds. */
  urlList: string[];
  /** Files, when the metainfo is known (a .torrent file); empty for a magnet link. */
  files: { path: string; length: number }[];
  /** Whether the files and piece hashes are known (true for a .torrent file). */
  hasMetadata: boolean;
  /** The parsed object as webtorrent takes it. Opaque outside this file. */
  readonly raw: unknown;
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

export async function parseMetainfo(data: Uint8Array): Promise<TorrentDescription> {
  return describe(await parseTorrent(data));
}

export async function parseMagnet(magnet: string): Promise<TorrentDescription> {
  return describe(await parseTorrent(magnet));
}

function describe(parsed: RawParsedTorrent): TorrentDescription {
  if (!parsed || typeof parsed.infoHash !== 'string') throw new Error('no info hash');
  return {
    infoHash: parsed.infoHash,
    name: parsed.name,
    announce: [...(parsed.announce ?? [])],
    urlList: [...(parsed.urlList ?? [])],
    files: (parsed.files ?? []).map((f) => ({ path: f.path, length: f.length })),
    hasMetadata: parsed.info !== undefined,
    raw: parsed,
  };
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
      uploaded: this.raw.uploaded,
    };
  }

  /** Resolves once the file list and piece hashes are known (at once for a .torrent file). */
  whenMetadata(signal?: AbortSignal): Promise<void> {
    return this.until(() => this.hasMetadata, 'metadata', signal);
  }

  /** Resolves once what is on disk has been checked against the piece hashes. */
  whenReady(signal?: AbortSignal): Promise<void> {
    return this.until(() => this.raw.ready, 'ready', signal);
  }

  /** Download file `index` only. */
  selectOnly(index: number): void {
    this.raw.files.forEach((f, i) => (i === index ? f.select() : f.deselect()));
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

/** A webtorrent client: one TCP (and uTP) port that all its torrents share. */
export class TorrentClient {
  private constructor(private readonly raw: WebTorrent) {}

  /** Start a client; resolves once it listens for peers. */
  static async start(options: TorrentClientOptions, onError: (err: Error) => void): Promise<TorrentClient> {
    const raw = constructBoundTo(options.listenAddress, () =>
      new WebTorrent({
        dht: options.dht,
        lsd: options.lsd,
        utPex: options.pex,
        utp: options.utp,
        // Port mapping on the LAN's router is a deployment decision, never a side effect.
        natUpnp: false,
        natPmp: false,
        torrentPort: options.listenPort,
        tracker: {},
        webSeeds: true,
        userAgent: 'imageproxy',
      }),
    );
    raw.on('error', (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));
    if (!raw.listening) {
      await new Promise<void>((resolve, reject) => {
        raw.once('listening', () => resolve());
        raw.once('error', (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
      });
    }
    return new TorrentClient(raw);
  }

  /** The port peers connect to. */
  get port(): number {
    return this.raw.torrentPort;
  }

  static get utpSupported(): boolean {
    return WebTorrent.UTP_SUPPORT;
  }

  find(infoHash: string): Torrent | undefined {
    const raw = this.raw.torrents.find((t) => t.infoHash === infoHash && !t.destroyed);
    return raw ? new Torrent(raw) : undefined;
  }

  /**
   * Add a torrent, downloading into `dir` (webtorrent re-verifies whatever is there already).
   * Trackers and web seeds are exactly those of `description`. Nothing is selected until
   * `selectOnly()`.
   */
  add(description: TorrentDescription, dir: string): Torrent {
    const raw = description.raw as RawParsedTorrent;
    const parsed: RawParsedTorrent = { ...raw, announce: [...description.announce], urlList: [...description.urlList] };
    return new Torrent(this.raw.add(parsed, { path: dir, deselect: true }));
  }

  /** Stop every torrent and close the listening sockets. */
  destroy(): Promise<void> {
    if (this.raw.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.raw.destroy(() => resolve()));
  }
}

/**
 * webtorrent has no bind-address option: its TCP server listens on all interfaces, synchronously
 * inside the constructor. To bind one address, the constructor runs with `net.Server#listen`
 * supplying the host for that one call; nothing else can run in between.
 */
function constructBoundTo(address: string | undefined, construct: () => WebTorrent): WebTorrent {
  if (address === undefined) return construct();
  const original = net.Server.prototype.listen;
  const listen = original as (this: net.Server, ...a: unknown[]) => net.Server;
  const patched = function (this: net.Server, ...args: unknown[]): net.Server {
    // webtorrent's call: listen(port, onListening)
    if (typeof args[0] === 'number' && typeof args[1] === 'function') return listen.call(this, args[0], address, args[1]);
    return listen.apply(this, args);
  };
  net.Server.prototype.listen = patched as typeof original;
  try {
    return construct();
  } finally {
    net.Server.prototype.listen = original;
  }
}
