/**
 * Bundle an image the way `euca-bundle-image` does, streamed, each byte read once:
 * tar (the image as its one member) → SHA-1 of the tar (the manifest digest) → gzip →
 * AES-128-CBC → parts of 10,485,760 bytes, each hashed as it is written. Parts are handed to
 * `onPart` as soon as they are complete, at most `partsInFlight` at a time, so disk use is bounded
 * by the parts in flight and memory by the stream buffers.
 */
import { createCipheriv, createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { createParallelGzip } from './parallel-gzip.js';

/** Size of every part but the last, as the bundling tools cut them. */
export const BUNDLE_PART_SIZE = 10 * 1024 * 1024;

export interface BundledPart {
  index: number;
  /** `<name>.part.NN` */
  filename: string;
  /** Where the part is on disk until `onPart` is done with it. */
  path: string;
  size: number;
  sha1: string;
  /** MD5 (hex), what S3 answers as the ETag of a single-request upload. */
  md5: string;
}

export interface BundleImageOptions {
  /** The raw image file. */
  imagePath: string;
  /** Bundle name: the tar member and the prefix of the part names. */
  name: string;
  /** Directory the parts are written into. */
  workDir: string;
  /** AES-128-CBC key and IV, 16 bytes each. */
  key: Buffer;
  iv: Buffer;
  /**
   * Called with each complete part; the bundle waits for it only when `partsInFlight` calls are
   * pending. The part file is the callee's to keep or delete.
   */
  onPart: (part: BundledPart) => Promise<void>;
  /** @default 3 */
  partsInFlight?: number;
  /** @default BUNDLE_PART_SIZE */
  partSize?: number;
  /** gzip level. @default 6 (what the bundling tools use) */
  level?: number;
  /** Compress on this many threads (one standard gzip stream either way). @default 2 */
  threads?: number;
  /** Called with the bytes of image read so far, now and then. */
  onProgress?: (imageBytesRead: number) => void;
  signal?: AbortSignal;
}

export interface BundleResult {
  /** SHA-1 (hex) of the tar stream: the manifest's `<digest>`. */
  digest: string;
  /** Size of the image file. */
  size: number;
  /** Sum of the part sizes: the manifest's `<bundled_size>`. */
  bundledSize: number;
  parts: Omit<BundledPart, 'path'>[];
}

/** Fixed tar header time, so bundling the same image with the same key gives the same parts. */
const TAR_MTIME = new Date(0);

export async function bundleImage(options: BundleImageOptions): Promise<BundleResult> {
  const { imagePath, name, key, iv } = options;
  if (key.length !== 16 || iv.length !== 16) throw new Error('bundle key and IV must be 16 bytes each');
  const { size } = await stat(imagePath);

  const pack = tar.pack();
  const source = createReadStream(imagePath, { highWaterMark: 1024 * 1024 });
  let read = 0;
  source.on('data', (chunk: Buffer | string) => {
    read += chunk.length;
    options.onProgress?.(read);
  });
  const entry = pack.entry({ name, size, mtime: TAR_MTIME, mode: 0o644, uid: 0, gid: 0 }, (err) => {
    if (err) pack.destroy(err);
    else pack.finalize();
  });
  // An aborted bundle (a worker shutdown) destroys the entry with the pack; its error reaches the
  // callback above and the pipeline, and must not crash the process as an unhandled 'error' event.
  entry.on('error', () => undefined);
  source.on('error', (err) => pack.destroy(err));
  source.pipe(entry as unknown as NodeJS.WritableStream);

  const tarDigest = createHash('sha1');
  const threads = options.threads ?? 2;
  const level = options.level ?? 6;
  const gzip = threads > 1 ? createParallelGzip({ level, threads }) : createGzip({ level });
  const parts = new PartWriter({
    dir: options.workDir,
    name,
    partSize: options.partSize ?? BUNDLE_PART_SIZE,
    partsInFlight: options.partsInFlight ?? 3,
    onPart: options.onPart,
  });
  try {
    await pipeline(
      Readable.from(pack, { objectMode: false }),
      tap(tarDigest),
      gzip,
      createCipheriv('aes-128-cbc', key, iv),
      parts,
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
  } finally {
    source.destroy();
  }
  return { digest: tarDigest.digest('hex'), size, bundledSize: parts.bytes, parts: parts.done };
}

/** A pass-through that feeds every byte into `hash`. */
function tap(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

/** Name of part `index`: two digits at least, as the bundling tools write it. */
export function partFilename(name: string, index: number): string {
  return `${name}.part.${String(index).padStart(2, '0')}`;
}

/** Cuts the stream into part files; opens a part only when it has a byte (no empty last part). */
class PartWriter extends Writable {
  readonly done: Omit<BundledPart, 'path'>[] = [];
  bytes = 0;
  private current?: { handle: FileHandle; part: BundledPart; sha1: Hash; md5: Hash };
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly opts: {
      dir: string;
      name: string;
      partSize: number;
      partsInFlight: number;
      onPart: (part: BundledPart) => Promise<void>;
    },
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeChunk(chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      await this.closePart();
      await Promise.all(this.pending);
      if (this.failure) throw this.failure;
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const handle = this.current?.handle;
    this.current = undefined;
    // Let pending uploads settle, so the caller's clean-up sees every object they made.
    void Promise.allSettled([...this.pending, handle?.close()]).then(() => cb(err));
  }

  private async writeChunk(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.failure) throw this.failure;
      if (!this.current) await this.openPart();
      const cur = this.current!;
      const n = Math.min(chunk.length - offset, this.opts.partSize - cur.part.size);
      const slice = chunk.subarray(offset, offset + n);
      await cur.handle.write(slice);
      cur.sha1.update(slice);
      cur.md5.update(slice);
      cur.part.size += n;
      this.bytes += n;
      offset += n;
      if (cur.part.size === this.opts.partSize) await this.closePart();
    }
  }

  private async openPart(): Promise<void> {
    // Bounded disk: wait for a slot before starting another part.
    while (this.pending.size >= this.opts.partsInFlight) await Promise.race(this.pending);
    const index = this.done.length + (this.current ? 1 : 0);
    const filename = partFilename(this.opts.name, index);
    const path = join(this.opts.dir, filename);
    const handle = await open(path, 'w');
    this.current = {
      handle,
      part: { index, filename, path, size: 0, sha1: '', md5: '' },
      sha1: createHash('sha1'),
      md5: createHash('md5'),
    };
  }

  private async closePart(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    await cur.handle.close();
    const part: BundledPart = { ...cur.part, sha1: cur.sha1.digest('hex'), md5: cur.md5.digest('hex') };
    const { path: _path, ...record } = part;
    this.done.push(record);
    const job: Promise<void> = this.opts
      .onPart(part)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }
}
