/**
 * Parts this process is downloading right now, so the peer endpoint can serve the bytes written so
 * far of a file that grows from its start (an HTTP transfer, a fetch from peers), the verified
 * pieces of one written out of order (BitTorrent, `has`), and tell peers waiting for bytes not
 * there yet how far it got. Process-wide: the
 * site workers of one process share one cache directory and one peer endpoint.
 */

export interface GrowingPart {
  /** The file being written. */
  path: string;
  /** Whether it is written front to back (HTTP, peers): then its size says which bytes are there. */
  sequential: boolean;
  /** For a file written out of order: whether bytes `start`..`end` (exclusive) are verified and in `path`. */
  has?: (start: number, end: number) => boolean;
  /** Size of the whole part, once known. */
  bytesTotal?: number;
  /** Bytes downloaded so far (told to peers waiting for it, so they know it is alive). */
  bytesDone?: number;
}

const growing = new Map<string, GrowingPart>();

export const growingParts = {
  set(name: string, part: GrowingPart): void {
    growing.set(name, part);
  },
  get(name: string): GrowingPart | undefined {
    return growing.get(name);
  },
  delete(name: string, path: string): void {
    if (growing.get(name)?.path === path) growing.delete(name);
  },
};
