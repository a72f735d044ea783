/**
 * A transport moves the bytes at a URL into a file, hashing them in the same pass.
 * HTTP(S) and BitTorrent implement it; the download activity picks one by URL.
 */
import type { FleetRef } from '../../common/fleet-contract.js';
import type { ContentHash } from '../../common/image-types.js';

export interface TransferProgress {
  /** Bytes of the content on disk in `destPath` (including those kept from an earlier attempt). */
  bytesDone: number;
  bytesTotal?: number;
  /**
   * Opaque, transport-specific state that lets a later attempt continue (HTTP: the validator the
   * origin sent). The download activity heartbeats it and hands it back in `resume.lastProgress`.
   */
  resumeToken?: string;
  /** Pieces verified of the total (BitTorrent). */
  pieces?: { verified: number; total: number };
  /** Peers connected now (BitTorrent). */
  peers?: number;
}

/**
 * The verified bytes of a file a transport writes out of order (BitTorrent), readable while the
 * transfer runs, so the fleet's peer endpoint can serve them before the file is complete.
 */
export interface ServableBytes {
  /** The file the verified bytes are in (not necessarily `destPath`). */
  path: string;
  bytesTotal: number;
  /** Whether bytes `start`..`end` (exclusive) are verified and written to `path`. */
  has(start: number, end: number): boolean;
}

/** How a transfer may continue what an earlier attempt left in `destPath`. */
export interface ResumeOptions {
  /**
   * A small file the transport may keep its own resume state in (e.g. the HTTP validator). Whoever
   * owns `destPath` removes it together with `destPath`.
   */
  statePath: string;
  /** The last progress the previous attempt reported (its heartbeat details), if any. */
  lastProgress?: TransferProgress;
}

export interface FetchRequest {
  url: string;
  /** File to write. With `resume`, it may hold the beginning of the content from an earlier attempt. */
  destPath: string;
  /** Hash to compute over the bytes as they arrive. */
  hashAlgorithm: ContentHash['algorithm'];
  /** Refuse content larger than this many bytes. */
  maxBytes?: number;
  /** Continue an earlier attempt where possible. Absent: start from zero, overwriting `destPath`. */
  resume?: ResumeOptions;
  signal?: AbortSignal;
  /**
   * Whether `signal` aborted for this reason means nobody will resume the download (its run was
   * cancelled), so a transport that keeps data between attempts may delete it. Absent: never.
   */
  abandonedBy?: (abortReason: unknown) => boolean;
  /** Called as bytes arrive (often: callers throttle what they do with it). */
  onProgress?: (progress: TransferProgress) => void;
  /** The hash the content must have (the fleet transport names the part to peers by it). */
  expected?: ContentHash;
  /** The distribution this download belongs to: its other hosts may serve the part (peer/). */
  fleet?: FleetRef;
  /**
   * Others read the file while it is written (the fleet's peer endpoint): a transport that writes
   * out of order fetches in file order instead and tells where its verified bytes are.
   */
  onServable?: (bytes: ServableBytes) => void;
}

export interface FetchResult {
  /** Size of the complete file. */
  bytes: number;
  /** Lowercase hex digest, of `hashAlgorithm`, over the whole file. */
  hashHex: string;
  /** Bytes of this result taken from an earlier attempt's partial file rather than the network. */
  bytesResumed?: number;
  /** Where the bytes came from, when a transport wraps others (the fleet's peer transport); absent: this transport, from the origin. */
  via?: { transport: string; source: 'origin' | 'peer' };
}

export interface Transport {
  readonly name: string;
  /** Whether this transport fetches `url` (by scheme or form). */
  handles(url: URL): boolean;
  fetchToFile(request: FetchRequest): Promise<FetchResult>;
}
