/**
 * The little of bittorrent-protocol, torrent-piece, immediate-chunk-store, random-access-file and webtorrent's web seed
 * connection (untyped JavaScript) that the tests of patched dependencies drive
 * (test/activities/transports/bittorrent/patched-*.test.ts; patches/).
 */
declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream';
  export default class Wire extends Duplex {
    requests: unknown[];
    handshake(infoHash: string, peerId: string, extensions?: Record<string, boolean>): void;
    unchoke(): void;
    interested(): void;
    have(index: number): void;
    piece(index: number, offset: number, buffer: Uint8Array): void;
    request(index: number, offset: number, length: number, cb: (err: Error | null, block: Uint8Array | null) => void): void;
    on(event: 'handshake', listener: () => void): this;
    on(event: 'request', listener: (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void) => void): this;
    on(event: 'data', listener: (chunk: Uint8Array) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }
}

declare module 'torrent-piece' {
  export default class Piece {
    constructor(length: number);
    static BLOCK_LENGTH: number;
    reserve(): number;
    set(index: number, data: Uint8Array, source: unknown): boolean;
    flush(): Uint8Array | null;
    /** Added by ImageProxy's patch: a joined piece's buffer, free for the next piece to be joined into. */
    static recycle(buffer: Uint8Array): void;
    /** Added by ImageProxy's patch: piece buffers allocated so far (not taken from the recycled ones). */
    static buffersAllocated: number;
  }
}

declare module 'immediate-chunk-store' {
  interface ChunkStore {
    chunkLength: number;
    put(index: number, buf: Uint8Array, cb: (err: Error | null) => void): void;
    get(index: number, opts: { offset?: number; length?: number } | null, cb: (err: Error | null, buf: Uint8Array) => void): void;
  }
  export default class ImmediateChunkStore implements ChunkStore {
    constructor(store: ChunkStore);
    chunkLength: number;
    put(index: number, buf: Uint8Array, cb: (err: Error | null) => void): void;
    get(index: number, opts: { offset?: number; length?: number } | null, cb: (err: Error | null, buf: Uint8Array) => void): void;
  }
}

declare module 'webtorrent/lib/webconn.js' {
  import Wire from 'bittorrent-protocol';
  /** The torrent as WebConn reads it: piece length and the files' places in the torrent's bytes. */
  export interface WebConnTorrent {
    pieceLength: number;
    path: string;
    pieces: unknown[];
    files: { offset: number; length: number; path: string }[];
    /** Added by ImageProxy's patch: how a range is fetched (default: fetch, no redirects). */
    webSeedRequest?: (
      url: string,
      range: { start: number; end: number; signal: AbortSignal; userAgent: string },
    ) => Promise<{ status: number; body: AsyncIterable<Uint8Array>; discard(): void }>;
  }
  export default class WebConn extends Wire {
    constructor(url: string, torrent: WebConnTorrent);
    httpRequest(pieceIndex: number, offset: number, length: number, cb: (err: Error | null, data?: Uint8Array) => void): Promise<void>;
    piece(index: number, offset: number, buffer: Uint8Array): void;
  }
}

declare module 'random-access-file' {
  export default class RandomAccessFile {
    constructor(path: string);
    write(offset: number, data: Uint8Array, cb: (err: Error | null) => void): void;
    close(cb: (err: Error | null) => void): void;
  }
}

declare module 'webtorrent/lib/file.js' {
  interface FileTorrent {
    pieceLength: number;
    lastPieceLength: number;
    pieces: ({ missing: number } | null)[];
    bitfield: { get(index: number): boolean };
    client: unknown;
  }
  export default class File {
    constructor(torrent: FileTorrent, file: { name: string; path: string; length: number; offset: number });
    readonly downloaded: number;
  }
}
