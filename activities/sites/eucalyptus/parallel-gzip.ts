/**
 * gzip on several cores at once, as pigz does, into ONE standard gzip stream that gunzip and
 * every gzip reader accept: the input is cut into blocks; worker threads deflate each block on
 * its own (primed with the previous block's last 32 KiB as dictionary, so matches still reach
 * back), ending it with a sync flush so blocks concatenate into one deflate stream; each thread
 * also returns its block's CRC-32, and the CRCs are combined in order. An empty final block and
 * the gzip trailer close the stream. Memory is bounded by the blocks in flight.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { crc32Combine } from './crc32-combine.js';

export interface ParallelGzipOptions {
  /** zlib level. @default 6 */
  level?: number;
  /** Compression threads. @default 2 */
  threads?: number;
  /** Bytes of input per block. @default 1 MiB */
  blockSize?: number;
  /**
   * Blocks handed to threads and not yet written out; enough that the threads keep working while
   * this thread is busy downstream. @default 4 per thread
   */
  blocksInFlight?: number;
}

const WINDOW = 32 * 1024;
/** gzip member header: magic, deflate, no flags, no mtime, no extra flags, OS unix. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** A final, empty deflate block with fixed codes: the end of the deflate stream. */
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);

// Plain JS, evaluated in each thread (a .ts worker file would need a loader in every runtime).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, data, dictionary, level }) => {
  try {
    const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const options = { level, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (dictionary) options.dictionary = dictionary;
    const out = zlib.deflateRawSync(input, options);
    parentPort.postMessage({ id, out, crc: zlib.crc32(input) });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Job {
  length: number;
  result: Promise<{ out: Uint8Array; crc: number }>;
}

export function createParallelGzip(options: ParallelGzipOptions = {}): Transform {
  const level = options.level ?? 6;
  const threads = Math.max(1, options.threads ?? 2);
  const blockSize = options.blockSize ?? 1024 * 1024;
  const maxInFlight = Math.max(1, options.blocksInFlight ?? threads * 4);

  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true }));
  const waiting = new Map<number, { resolve: (r: { out: Uint8Array; crc: number }) => void; reject: (e: Error) => void }>();
  for (const w of workers) {
    w.on('message', (m: { id: number; out?: Uint8Array; crc?: number; error?: string }) => {
      const waiter = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error !== undefined) waiter?.reject(new Error(`gzip thread: ${m.error}`));
      else waiter?.resolve({ out: m.out!, crc: m.crc! });
    });
    w.on('error', (err) => {
      for (const waiter of waiting.values()) waiter.reject(err);
      waiting.clear();
    });
  }

  let nextId = 0;
  let block = Buffer.allocUnsafeSlow(blockSize);
  let filled = 0;
  let dictionary: Buffer | undefined;
  const queue: Job[] = [];
  let crc = 0;
  let total = 0;
  let headerSent = false;

  const submit = (): void => {
    const data = block.subarray(0, filled);
    const id = nextId++;
    const worker = workers[id % threads]!;
    const result = new Promise<{ out: Uint8Array; crc: number }>((resolve, reject) => waiting.set(id, { resolve, reject }));
    const nextDictionary = Buffer.from(data.subarray(Math.max(0, data.length - WINDOW)));
    // The block's memory moves to the thread; a fresh one takes its place.
    worker.postMessage({ id, data, dictionary, level }, [data.buffer as ArrayBuffer]);
    queue.push({ length: filled, result });
    dictionary = nextDictionary;
    block = Buffer.allocUnsafeSlow(blockSize);
    filled = 0;
  };

  /** Push finished blocks in order; wait for the oldest while more than `keep` are in flight. */
  const drain = async (stream: Transform, keep: number): Promise<void> => {
    if (!headerSent) {
      stream.push(GZIP_HEADER);
      headerSent = true;
    }
    while (queue.length > keep) {
      const job = queue.shift()!;
      const { out, crc: blockCrc } = await job.result;
      crc = crc32Combine(crc, blockCrc, job.length);
      total += job.length;
      stream.push(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    }
  };

  const stop = (): void => {
    for (const w of workers) void w.terminate();
  };

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(blockSize - filled, chunk.length - offset);
        chunk.copy(block, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === blockSize) submit();
      }
      drain(this, maxInFlight - 1).then(() => cb(), cb);
    },
    flush(cb: TransformCallback) {
      if (filled > 0) submit();
      drain(this, 0)
        .then(() => {
          const trailer = Buffer.alloc(8);
          trailer.writeUInt32LE(crc >>> 0, 0);
          trailer.writeUInt32LE(total % 2 ** 32, 4);
          this.push(Buffer.concat([FINAL_EMPTY_BLOCK, trailer]));
          stop();
          cb();
        })
        .catch((err: Error) => {
          stop();
          cb(err);
        });
    },
    destroy(err, cb) {
      stop();
      cb(err);
    },
  });
}
