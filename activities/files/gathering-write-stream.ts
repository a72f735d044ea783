/**
 * A write stream into a `FileWriter` that gathers the incoming chunks (64 KiB socket reads) into
 * 1 MiB writes, with one write in flight while the next MiB fills. The file grows by about a MiB
 * at a time (peers reading it as it grows see those), and its last bytes are written when the
 * stream ends.
 */
import { Writable } from 'node:stream';
import { DIRECT_ALIGN, STAGING_BYTES, giveBackStaging, takeStaging } from './direct-io.js';
import { openFileWriter, type FileWriter } from './direct-file-writer.js';

export class GatheringWriteStream extends Writable {
  // Page-aligned, so a direct write takes them as they are.
  private gathered = takeStaging();
  private spare = takeStaging();
  private filled = 0;
  /** Bytes to gather before a write: the first write ends on a block, so the others start on one. */
  private capacity: number;
  private inFlight: Promise<void> | undefined;
  /** The chunk being gathered: a destroy waits for it, so no buffer is reused while it is copied into. */
  private taking: Promise<void> = Promise.resolve();

  /** Writes to `path` from `start` (0: a new file; else after the kept prefix of an existing one). */
  static async open(path: string, start: number): Promise<GatheringWriteStream> {
    return new GatheringWriteStream(await openFileWriter(path, start > 0 ? 'update' : 'create'), start);
  }

  private constructor(
    private readonly writer: FileWriter,
    private position: number,
  ) {
    super({ highWaterMark: STAGING_BYTES });
    this.capacity = STAGING_BYTES - (position % DIRECT_ALIGN);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.taking = this.take(chunk);
    this.taking.then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.settle()
      .then(() => (this.filled > 0 ? this.writer.write(this.gathered.subarray(0, this.filled), this.position) : undefined))
      .then(() => {
        this.position += this.filled;
        this.filled = 0;
        done();
      }, done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // No write may land after the stream has closed: a caller then measures or resumes the file.
    this.taking
      .then(() => this.settle())
      .catch(() => undefined)
      .then(() => this.writer.close())
      .finally(() => {
        giveBackStaging(this.gathered);
        giveBackStaging(this.spare);
      })
      .then(
        () => done(err),
        (closeErr: Error) => done(err ?? closeErr),
      );
  }

  private async take(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(chunk.length - at, this.capacity - this.filled);
      chunk.copy(this.gathered, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.capacity) await this.writeGathered();
      if (this.destroyed) return;
    }
  }

  /** Starts writing the full buffer; fills the spare one meanwhile. */
  private async writeGathered(): Promise<void> {
    await this.settle();
    if (this.destroyed) return;
    const full = this.gathered;
    this.gathered = this.spare;
    this.spare = full;
    const at = this.position;
    this.position += this.filled;
    this.filled = 0;
    this.capacity = STAGING_BYTES;
    this.inFlight = this.writer.write(full.subarray(0, this.position - at), at);
    this.inFlight.catch(() => undefined); // surfaced by the next settle()
  }

  private async settle(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = undefined;
    await pending;
  }
}
