/**
 * A transport moves the bytes at a URL into a file, hashing them in the same pass.
 * HTTP(S) and BitTorrent implement it; the download activity picks one by URL.
 */
import type { ContentHash } from '../../common/image-types.js';

export interface TransferProgress {
  bytesDone: number;
  bytesTotal?: number;
  /** Pieces verified of the total (BitTorrent). */
  pieces?: { verified: number; total: number };
  /** Peers connected now (BitTorrent). */
  peers?: number;
}

export interface FetchRequest {
  url: string;
  /** File to write. It may hold the beginning of the content from an earlier attempt. */
  destPath: string;
  /** Hash to compute over the bytes as they arrive. */
  hashAlgorithm: ContentHash['algorithm'];
  /** Refuse content larger than this many bytes. */
  maxBytes?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
}

export interface FetchResult {
  /** Size of the complete file. */
  bytes: number;
  /** Lowercase hex digest, of `hashAlgorithm`, over the whole file. */
  hashHex: string;
}

export interface Transport {
  readonly name: string;
  /** Whether this transport fetches `url` (by scheme or form). */
  handles(url: URL): boolean;
  fetchToFile(request: FetchRequest): Promise<FetchResult>;
}
