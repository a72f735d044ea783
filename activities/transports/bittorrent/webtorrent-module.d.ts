/**
 * The parts of `webtorrent` and `parse-torrent` (untyped JavaScript) that webtorrent-client.ts
 * uses. Nothing else imports these modules: the rest of the code sees webtorrent-client.ts only.
 */
declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events';

  interface RawTorrentFile extends EventEmitter {
    readonly name: string;
    /** Path inside the torrent's download directory (torrent name first for multi-file torrents). */
    readonly path: string;
    readonly length: number;
    readonly offset: number;
    readonly downloaded: number;
    readonly done: boolean;
    select(priority?: number): void;
    deselect(): void;
  }

  interface RawBitfield {
    get(index: number): boolean;
  }

  interface RawTorrent extends EventEmitter {
    readonly infoHash: string;
    readonly name: string;
    readonly length: number;
    readonly pieceLength: number;
    readonly pieces: readonly unknown[];
    readonly files: readonly RawTorrentFile[];
    readonly bitfield: RawBitfield | undefined;
    readonly numPeers: number;
    readonly received: number;
    readonly uploaded: number;
    readonly ready: boolean;
    readonly done: boolean;
    readonly destroyed: boolean;
    readonly path: string;
    readonly urlList: readonly string[] | undefined;
    /** The .torrent file (bencoded), once the metadata is known. */
    readonly torrentFile: Uint8Array | undefined;
    destroy(opts: { destroyStore?: boolean } | null, cb?: (err?: Error | null) => void): void;
    addPeer(peer: string): boolean;
    /** Fetch pieces `start`..`end` (inclusive); higher `priority` first. */
    select(start: number, end: number, priority?: number): void;
    deselect(start: number, end: number): void;
    /** Added by ImageProxy's patch (lib/webconn.js): how the web seeds fetch a range. */
    webSeedRequest?: (url: string, range: { start: number; end: number; signal: AbortSignal; userAgent: string }) => Promise<{ status: number; body: AsyncIterable<Uint8Array>; discard(): void }>;
    /** Add a BEP 19 web seed (an http(s) URL). */
    addWebSeed(url: string): void;
    /** Disconnect a peer or web seed by its id (a web seed's id is its URL). */
    removePeer(id: string): void;
  }

  interface RawClientOptions {
    dht?: boolean;
    lsd?: boolean;
    utPex?: boolean;
    utp?: boolean;
    natUpnp?: boolean;
    natPmp?: boolean;
    torrentPort?: number;
    tracker?: false | Record<string, unknown>;
    webSeeds?: boolean;
    userAgent?: string;
  }

  interface RawAddOptions {
    path: string;
    announce?: string[];
    urlList?: string[];
    deselect?: boolean;
    destroyStoreOnDestroy?: boolean;
  }

  class WebTorrent extends EventEmitter {
    constructor(opts?: RawClientOptions);
    static readonly UTP_SUPPORT: boolean;
    static readonly WEBRTC_SUPPORT: boolean;
    readonly torrents: readonly RawTorrent[];
    readonly torrentPort: number;
    readonly listening: boolean;
    readonly destroyed: boolean;
    add(torrentId: string | Uint8Array | object, opts: RawAddOptions): RawTorrent;
    destroy(cb?: (err?: Error | null) => void): void;
  }
  export default WebTorrent;
  export type { RawTorrent, RawTorrentFile, RawClientOptions, RawAddOptions };
}

declare module 'parse-torrent' {
  interface RawParsedTorrent {
    infoHash: string;
    name?: string;
    announce?: string[];
    urlList?: string[];
    length?: number;
    pieceLength?: number;
    files?: { name: string; path: string; length: number; offset: number }[];
    /** Present for a parsed .torrent file, absent for a magnet link. */
    info?: unknown;
  }
  export default function parseTorrent(torrentId: string | Uint8Array): Promise<RawParsedTorrent>;
  export function toMagnetURI(parsed: RawParsedTorrent): string;
  export type { RawParsedTorrent };
}
