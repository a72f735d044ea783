/**
 * The whole-file hash of a torrent's file, computed while the download runs: it follows the
 * verified prefix (hash-file.ts: hashFileAsItGrows). Fetched in file order (a fleet's first host,
 * whose peers read it as it grows), most of the file is hashed by the time the last piece arrives;
 * the read-back after the download that it replaces came last of all and, on a host busy serving
 * the other sites, took seconds. Fetched from a random start, it hashes no more than before.
 * Pieces are hashed from memory as webtorrent verifies them, where they continue the hashed prefix;
 * only the rest is read back from disk.
 */
import type { ContentHash } from '../../../common/image-types.js';
import { hashFileAsItGrows } from '../hash-file.js';
import type { Torrent } from './webtorrent-torrent.js';

export interface FollowingFileHash {
  /** The hash of the whole file, once every piece of it is verified and read. */
  result: Promise<{ bytes: number; hashHex: string; bytesFromMemory: number }>;
  /** From now on, each read reports progress (the heartbeat while the rest is read). */
  downloadDone(): void;
  /** Stop reading and wait until the file is closed (a failed or cancelled download). */
  stop(): Promise<void>;
}

export function followFileHash(
  torrent: Torrent,
  index: number,
  algorithm: ContentHash['algorithm'],
  o: { signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void },
): FollowingFileHash {
  const length = torrent.files()[index]!.length;
  const following = new AbortController();
  let downloaded = false;
  const result = hashFileAsItGrows(torrent.filePath(index), algorithm, {
    total: length,
    has: (start, end) => torrent.hasFileBytes(index, start, end),
    signal: o.signal ? AbortSignal.any([following.signal, o.signal]) : following.signal,
    onBytes: () => downloaded && o.onProgress?.(length, length),
    // Each piece as it is verified: an in-order download is hashed without reading it back.
    feed: (offer) => torrent.onVerifiedFileBytes(index, offer),
  });
  result.catch(() => undefined); // awaited by the caller, or stopped on failure
  return {
    result,
    downloadDone: () => {
      downloaded = true;
    },
    stop: async () => {
      following.abort();
      await result.catch(() => undefined);
    },
  };
}
