/**
 * A small typed face of webtorrent (which ships no types): a client listening for peers and the
 * torrents added to it (each a `Torrent`, webtorrent-torrent.ts). Only these two files touch
 * webtorrent's objects (split in two when the torrent side grew past 300 lines).
 */
import net from 'node:net';
import WebTorrent from 'webtorrent';
import parseTorrent, { type RawParsedTorrent } from 'parse-torrent';
import { Torrent, trackSources } from './webtorrent-torrent.js';

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
   * Trackers and web seeds are exactly those of `description`; the web seeds are used only once
   * `Torrent.useWebSeeds(true)` is called. Nothing is selected until `selectOnly()`.
   */
  add(description: TorrentDescription, dir: string): Torrent {
    const raw = description.raw as RawParsedTorrent;
    const parsed: RawParsedTorrent = { ...raw, announce: [...description.announce], urlList: [] };
    const torrent = this.raw.add(parsed, { path: dir, deselect: true });
    trackSources(torrent, description.urlList);
    return new Torrent(torrent);
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
