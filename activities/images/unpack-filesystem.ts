/**
 * Unpack a ZFILESYSTEM part into its raw filesystem image, streamed: decompress by the content's
 * magic bytes (gzip: Node's zlib; bzip2: unbzip2-stream; xz and legacy lzma: lzma-native, i.e.
 * liblzma), then, if the result is a tar, write its member `filesystem`; otherwise the decompressed
 * bytes are the image. Anything else is a BadArchive failure naming the part and the problem.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import lzma from 'lzma-native';
import tar from 'tar-stream';
import unbzip2 from 'unbzip2-stream';
import { ErrorType, ImageProxyError } from '../../common/errors.js';
import { isTarHeader, memberRole, sniffCompression, unsupportedFormatOf, type Compression } from './archive-format.js';
import { writeToFile } from '../files/file-closed.js';

export interface UnpackOptions {
  /** The compressed part as downloaded (verified). */
  source: string;
  /** File to write the raw image to (created or truncated). */
  dest: string;
  /** The part's URL, for error messages. */
  url: string;
  /** Called with compressed bytes read so far and the compressed size. */
  onProgress?: (bytesRead: number, bytesTotal: number) => void;
  /**
   * Called, before they are written, with the raw bytes the image will have taken so far (a tar
   * member: its whole size at once), so the caller can make room or abort through `signal`.
   */
  onRawBytes?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface UnpackResult {
  compression: Compression;
  /** Whether the image came out of a tar member `filesystem`. */
  fromTar: boolean;
  /** Size of the raw image. */
  bytes: number;
}

export async function unpackFilesystem(opts: UnpackOptions): Promise<UnpackResult> {
  const bad = (problem: string): ImageProxyError =>
    new ImageProxyError({ type: ErrorType.BadArchive, nonRetryable: true, message: `ZFILESYSTEM part ${opts.url}: ${problem}` });

  const head = await readHead(opts.source, 16);
  const compression = sniffCompression(head);
  if (!compression) {
    const known = unsupportedFormatOf(head);
    throw bad(
      known
        ? `is ${known}, which is not unpacked (gzip, bzip2 or xz only)`
        : `is not gzip, bzip2 or xz (it starts with ${head.subarray(0, 8).toString('hex') || 'nothing'})`,
    );
  }
  const total = (await stat(opts.source)).size;
  const input = createReadStream(opts.source, { highWaterMark: 1 << 20 });
  let fromTar = false;
  let bytes = 0;
  try {
    await pipeline(
      input,
      decompressorFor(compression) as Transform,
      async (chunks: AsyncIterable<Buffer>) => {
        const it = chunks[Symbol.asyncIterator]();
        const first = await readAtLeast(it, 512);
        if (first.length === 0) throw bad(`${compression} content decompresses to nothing`);
        const all = withProgress(prepend(first, it), input, total, opts.onProgress);
        if (isTarHeader(first)) {
          fromTar = true;
          bytes = await extractFilesystemMember(all, opts.dest, bad, opts.onRawBytes);
        } else {
          const counted = countBytes(all, (n) => {
            opts.onRawBytes?.(n);
            bytes = n;
          });
          await writeToFile(opts.dest, 0, (file) => pipeline(Readable.from(counted), file));
        }
      },
      ...(opts.signal ? [{ signal: opts.signal }] : []),
    );
  } catch (err) {
    if (err instanceof ImageProxyError || opts.signal?.aborted) throw err;
    // System errors (disk full, I/O) may pass; anything else is the content's fault.
    if ((err as NodeJS.ErrnoException).syscall) throw err;
    throw bad(`cannot be unpacked as ${compression}${fromTar ? ' tar' : ''}: ${(err as Error).message}`);
  }
  return { compression, fromTar, bytes };
}

type Decompressor = Transform | ((chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>);

function decompressorFor(compression: Compression): Decompressor {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: 1 << 20 });
    case 'bzip2':
      return bunzip2;
    case 'xz':
    case 'lzma':
      return lzma.createDecompressor();
  }
}

/** Compressed bytes handed to unbzip2-stream at a time: its output per write is what we hold in memory. */
const BZIP2_SLICE = 64 * 1024;

/**
 * unbzip2-stream is an old-style (`through`) stream that never signals 'finish', which
 * `pipeline` takes for a premature close; drive it by hand, yielding its output after every small
 * slice of input so downstream backpressure reaches the file read.
 */
async function* bunzip2(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const bz = unbzip2();
  const out: Buffer[] = [];
  let failure: Error | undefined;
  let ended = false;
  bz.on('data', (d: Buffer) => out.push(d));
  bz.on('error', (e: Error) => (failure ??= e));
  bz.on('end', () => (ended = true));
  const drain = function* (): Generator<Buffer> {
    if (failure) throw failure;
    while (out.length) yield out.shift()!;
  };
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += BZIP2_SLICE) {
      bz.write(chunk.subarray(i, i + BZIP2_SLICE));
      yield* drain();
    }
  }
  bz.end();
  yield* drain();
  if (!ended) throw new Error('bzip2 stream ended early');
}

/** Write the tar member `filesystem` to `dest`; reject escaping names, duplicates and non-files. */
async function extractFilesystemMember(
  chunks: AsyncIterable<Buffer>,
  dest: string,
  bad: (problem: string) => ImageProxyError,
  onRawBytes: ((bytes: number) => void) | undefined,
): Promise<number> {
  const extract = tar.extract();
  const feeding = pipeline(Readable.from(chunks), extract).then(
    () => undefined,
    (err: unknown) => err,
  );
  const seen: string[] = [];
  let size: number | undefined;
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const role = memberRole(name);
      if (role === 'escapes') throw bad(`tar member name ${JSON.stringify(name)} points outside the archive`);
      if (role === 'filesystem') {
        if (type !== 'file' && type !== 'contiguous-file') throw bad(`tar member ${JSON.stringify(name)} is a ${type}, not a file`);
        if (size !== undefined) throw bad('tar holds more than one member named filesystem');
        onRawBytes?.(entry.header.size ?? 0);
        await writeToFile(dest, 0, (file) => pipeline(entry, file));
        size = entry.header.size ?? 0;
      } else {
        if (seen.length < 5) seen.push(name);
        entry.resume();
      }
    }
  } catch (err) {
    extract.destroy();
    await feeding;
    throw err;
  }
  const fed = await feeding;
  if (fed) throw fed;
  if (size === undefined) {
    throw bad(`tar has no member named filesystem${seen.length ? ` (it holds ${seen.map((s) => JSON.stringify(s)).join(', ')}…)` : ''}`);
  }
  return size;
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Pull chunks until at least `bytes` are gathered (or the stream ends); answers them joined. */
async function readAtLeast(it: AsyncIterator<Buffer>, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  while (n < bytes) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    n += r.value.length;
  }
  return Buffer.concat(parts);
}

async function* prepend(first: Buffer, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
}

/** Report the compressed bytes read as the decompressed chunks pass. */
async function* withProgress(
  chunks: AsyncIterable<Buffer>,
  input: ReadStream,
  total: number,
  onProgress: UnpackOptions['onProgress'],
): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    onProgress?.(input.bytesRead, total);
    yield chunk;
  }
}

async function* countBytes(chunks: AsyncIterable<Buffer>, onCount: (bytes: number) => void): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of chunks) {
    n += chunk.length;
    onCount(n);
    yield chunk;
  }
}
