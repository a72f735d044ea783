/**
 * Parts this process is downloading right now whose file grows from its start (an HTTP transfer,
 * a fetch from peers), so the peer endpoint can serve the bytes written so far. Process-wide: the
 * site workers of one process share one cache directory and one peer endpoint.
 */

export interface GrowingPart {
  /** The file being written, front to back. */
  path: string;
  /** Size of the whole part, once known. */
  bytesTotal?: number;
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
