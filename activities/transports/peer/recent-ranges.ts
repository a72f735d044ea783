/**
 * The byte ranges this host served last, kept in memory: the hosts of a distribution ask the first
 * one for the same pieces at about the same time, so one read from the file answers them all
 * (instead of one file read, with its fresh buffers, per peer). Bounded by bytes, oldest out first.
 */
import type { FileHandle } from 'node:fs/promises';

export class RecentRanges {
  private readonly ranges = new Map<string, { bytes: Promise<Buffer>; length: number }>();
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes `start`..`end` (inclusive) of part `name`, read from `file` unless read lately. */
  read(name: string, file: FileHandle, start: number, end: number): Promise<Buffer> {
    const key = `${name}:${start}-${end}`;
    const kept = this.ranges.get(key);
    if (kept) {
      this.ranges.delete(key); // most recent last
      this.ranges.set(key, kept);
      return kept.bytes;
    }
    const length = end - start + 1;
    const bytes = readExactly(file, start, length);
    if (length > this.maxBytes) return bytes;
    const entry = { bytes, length };
    this.ranges.set(key, entry);
    this.held += length;
    // A failed read is not kept: the next asker reads again.
    bytes.catch(() => this.forget(key, entry));
    for (const [oldKey, old] of this.ranges) {
      if (this.held <= this.maxBytes) break;
      this.forget(oldKey, old);
    }
    return bytes;
  }

  private forget(key: string, entry: { length: number }): void {
    if (this.ranges.get(key) !== entry) return;
    this.ranges.delete(key);
    this.held -= entry.length;
  }
}

async function readExactly(file: FileHandle, start: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, start + done);
    if (bytesRead === 0) throw new Error(`the file ended ${length - done} bytes before the range did`);
    done += bytesRead;
  }
  return buffer;
}
