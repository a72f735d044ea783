/**
 * The dependencies ImageProxy patches for CPU (patches/, docs/transports.md "CPU per GiB"), run as
 * they are installed: bittorrent-protocol's wire parses messages cut at any byte, matches answers
 * to requests in any order and sends a tick's small messages as one chunk; torrent-piece copies each
 * block into the piece's buffer on arrival, also a recycled one; immediate-chunk-store hands out
 * copies, so a recycled buffer changes under nobody; random-access-file writes whole blocks past the page cache, the rest in 256 KiB slices.
 * (The download end to end, with its piece and whole-file hashes: bittorrent-transport.test.ts.)
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Wire from 'bittorrent-protocol';
import ImmediateChunkStore from 'immediate-chunk-store';
import RandomAccessFile from 'random-access-file';
import Piece from 'torrent-piece';
import { describe, expect, it, vi } from 'vitest';
import { isDirectAligned, pageAlignedBuffer } from '../../../../activities/files/direct-io.js';
import { newTestDir } from '../../../support/image-proxy-world.js';
import { residentBytes } from '../../../support/page-cache.js';

const INFO_HASH = '0123456789abcdef0123456789abcdef01234567';
const BLOCK = 16 * 1024;

/**
 * A seeder wire and a leecher wire, the seeder's bytes reaching the leecher cut into chunks of the
 * given sizes in turn (so messages straddle chunks, and chunks hold several messages).
 */
function connectedWires(chunkSizes: number[], data: Uint8Array, answer: 'in order' | 'reversed'): { leecher: Wire; seeder: Wire } {
  const seeder = new Wire();
  const leecher = new Wire();
  leecher.pipe(seeder);
  let pending = Buffer.alloc(0);
  let turn = 0;
  seeder.on('data', (chunk: Uint8Array) => {
    pending = Buffer.concat([pending, chunk]);
    // Hold back a tail that is shorter than the next cut, except that everything goes eventually.
    setImmediate(() => {
      while (pending.length > 0) {
        const size = Math.min(chunkSizes[turn++ % chunkSizes.length]!, pending.length);
        leecher.write(pending.subarray(0, size));
        pending = pending.subarray(size);
      }
    });
  });
  const held: (() => void)[] = [];
  seeder.on('request', (index, offset, length, respond) => {
    const reply = (): void => respond(null, data.subarray(offset, offset + length));
    if (answer === 'in order') reply();
    else held.unshift(reply);
    if (answer === 'reversed' && held.length === data.length / BLOCK) for (const r of held) r();
  });
  seeder.on('handshake', () => {
    seeder.handshake(INFO_HASH, '2'.repeat(40));
    seeder.unchoke();
  });
  return { leecher, seeder };
}

async function fetchAll(leecher: Wire, blocks: number): Promise<Buffer[]> {
  await new Promise<void>((resolve) => {
    leecher.on('unchoke', () => resolve());
    leecher.handshake(INFO_HASH, '1'.repeat(40));
  });
  return Promise.all(
    Array.from({ length: blocks }, (_, i) =>
      new Promise<Buffer>((resolve, reject) =>
        leecher.request(0, i * BLOCK, BLOCK, (err, block) => (err || !block ? reject(err ?? new Error('no block')) : resolve(Buffer.from(block)))),
      ),
    ),
  );
}

/** Writes `data` at `offset` of a new file; answers the sizes of the write(2) calls and the file's bytes. */
async function writeAt(offset: number, data: Buffer): Promise<{ writes: number[]; back: Buffer }> {
  const dir = await newTestDir('raf');
  const path = join(dir, 'image.img');
  const file = new RandomAccessFile(path);
  const write = vi.spyOn(fs, 'write');
  try {
    await new Promise<void>((resolve, reject) => file.write(offset, data, (err) => (err ? reject(err) : resolve())));
    return { writes: write.mock.calls.map((call) => (call as unknown[])[3] as number), back: await readFile(path) };
  } finally {
    write.mockRestore();
    await new Promise<void>((resolve) => file.close(() => resolve()));
  }
}

describe('bittorrent-protocol as patched', () => {
  const data = randomBytes(24 * BLOCK);

  for (const [name, sizes] of [
    ['one byte at a time at first, then socket-sized reads', [1, 1, 1, 5, 65536, 7, 65536]],
    ['cuts inside headers and inside blocks', [3, 16397, 2, 9, 40000, 16384, 13]],
    ['everything in one chunk', [1 << 30]],
  ] as const) {
    it(`delivers every block byte for byte: ${name}`, async () => {
      const { leecher } = connectedWires([...sizes], data, 'in order');
      const blocks = await fetchAll(leecher, 24);
      expect(Buffer.concat(blocks).equals(data)).toBe(true);
      expect(leecher.requests).toHaveLength(0);
      leecher.destroy();
    });
  }

  it('sends the messages of one tick as one chunk, in order', async () => {
    const wire = new Wire();
    const chunks: Uint8Array[] = [];
    wire.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    wire.handshake(INFO_HASH, INFO_HASH);
    wire.unchoke();
    wire.interested();
    for (const index of [7, 8, 9]) wire.have(index);
    await new Promise((r) => setImmediate(r));
    expect(chunks).toHaveLength(1);
    const sent = Buffer.from(chunks[0]!);
    expect(sent.length).toBe(68 + 5 + 5 + 3 * 9);
    expect(sent.subarray(68).toString('hex')).toBe('0000000101' + '0000000102' + '000000050400000007' + '000000050400000008' + '000000050400000009');
    wire.destroy();
  });

  it('sends a block as it is, after the small messages queued before it', async () => {
    const wire = new Wire();
    const chunks: Uint8Array[] = [];
    wire.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    wire.handshake(INFO_HASH, INFO_HASH);
    wire.have(3);
    const block = randomBytes(BLOCK);
    wire.piece(3, BLOCK, block);
    wire.have(4);
    await new Promise((r) => setImmediate(r));
    // The handshake, the have and the piece's header joined; the block itself, not a copy; the last have.
    expect(chunks).toHaveLength(3);
    expect(Buffer.from(chunks[0]!).subarray(68).toString('hex')).toBe('000000050400000003' + '0000400907' + '00000003' + '00004000');
    expect(chunks[1]).toBe(block);
    expect(Buffer.from(chunks[2]!).toString('hex')).toBe('000000050400000004');
    wire.destroy();
  });

  it('matches answers that come in the reverse order of the requests', async () => {
    const { leecher } = connectedWires([4096, 65536, 11], data, 'reversed');
    const blocks = await fetchAll(leecher, 24);
    expect(Buffer.concat(blocks).equals(data)).toBe(true);
    expect(leecher.requests).toHaveLength(0);
    leecher.destroy();
  });
});

describe('torrent-piece as patched', () => {
  it('joins blocks that arrive in any order into the exact piece', () => {
    const length = 5 * BLOCK + 1234; // a short last block
    const bytes = randomBytes(length);
    const piece = new Piece(length);
    const indexes = [0, 1, 2, 3, 4, 5].map(() => piece.reserve());
    let done = false;
    for (const i of [...indexes].reverse()) done = piece.set(i, bytes.subarray(i * BLOCK, (i + 1) * BLOCK), 'peer');
    expect(done).toBe(true);
    const joined = piece.flush()!;
    expect(joined.length).toBe(length);
    expect(createHash('sha1').update(joined).digest('hex')).toBe(createHash('sha1').update(bytes).digest('hex'));
  });

  it('copies each block on arrival: the chunk it came in may be reused at once', () => {
    // A view kept the socket's whole 64 KiB chunk alive until the piece was done (full GCs).
    const length = 4 * BLOCK;
    const bytes = randomBytes(length);
    const piece = new Piece(length);
    const chunk = Buffer.alloc(BLOCK);
    for (let n = 0; n < 4; n++) {
      const i = piece.reserve();
      bytes.copy(chunk, 0, i * BLOCK, (i + 1) * BLOCK);
      piece.set(i, chunk, 'peer');
      chunk.fill(0xee); // the socket's next read lands in the same memory
    }
    expect(Buffer.from(piece.flush()!).equals(bytes)).toBe(true);
  });

  it('ignores a block of the wrong length instead of writing past the piece', () => {
    const length = 2 * BLOCK + 100;
    const piece = new Piece(length);
    piece.reserve();
    piece.reserve();
    const last = piece.reserve();
    expect(piece.set(last, randomBytes(BLOCK), 'peer')).toBe(false); // the last block is 100 bytes
    expect(piece.flush()).toBeNull();
  });

  it('joins the next piece into a recycled buffer, overwriting all of it', () => {
    const length = 3 * BLOCK;
    const fill = (seed: number): Buffer => Buffer.alloc(length, seed);
    const join = (bytes: Buffer): Uint8Array => {
      const piece = new Piece(length);
      for (let i = 0; i < 3; i++) piece.set(piece.reserve(), bytes.subarray(i * BLOCK, (i + 1) * BLOCK), 'peer');
      return piece.flush()!;
    };
    const first = join(fill(1));
    Piece.recycle(first);
    const second = join(fill(2));
    expect(second.buffer).toBe(first.buffer); // the same memory, reused
    expect(Buffer.from(second).equals(fill(2))).toBe(true);
  });
});

describe('torrent-piece as patched: recycled piece buffers', () => {
  const MiB = 1 << 20;
  const whole = randomBytes(MiB);
  /** `count` pieces of 1 MiB in flight at once, all complete; and how many new buffers they took. */
  const complete = (count: number): { buffers: Uint8Array[]; allocated: number } => {
    const before = Piece.buffersAllocated;
    const pieces = Array.from({ length: count }, () => new Piece(MiB));
    for (const piece of pieces) piece.set(0, whole, 'peer');
    const buffers = pieces.map((piece) => piece.flush()!);
    return { buffers, allocated: Piece.buffersAllocated - before };
  };

  it('keeps enough for the ~30 pieces a fast download has in flight: the next 30 take no new memory', () => {
    for (const buffer of complete(30).buffers) Piece.recycle(buffer);
    const next = complete(30);
    expect(next.allocated).toBe(0);
    expect(next.buffers.every((b) => Buffer.from(b).equals(whole))).toBe(true);
    for (const buffer of next.buffers) Piece.recycle(buffer);
  });

  it('keeps no more than 64 MiB', () => {
    for (const buffer of complete(100).buffers) Piece.recycle(buffer);
    expect(complete(100).allocated).toBeGreaterThanOrEqual(36);
  });

  it('joins pieces into page-aligned memory, which random-access-file writes past the page cache without a copy', async () => {
    const [piece] = complete(1).buffers;
    expect(isDirectAligned(Buffer.from(piece!.buffer, piece!.byteOffset, piece!.byteLength))).toBe(true);
    // Three pieces' worth of aligned memory goes down in one write(2); other memory, 1 MiB at a time through a staging copy.
    const aligned = pageAlignedBuffer(3 * MiB);
    aligned.set(randomBytes(3 * MiB));
    const direct = await writeAt(0, aligned);
    expect(direct.writes).toEqual([3 * MiB]);
    expect(direct.back.equals(aligned)).toBe(true);
    expect((await writeAt(0, Buffer.from(aligned))).writes).toEqual([MiB, MiB, MiB]);
  });
});

describe('immediate-chunk-store as patched', () => {
  it('answers a read of a piece still being written with a copy', async () => {
    let finishWrite: () => void = () => {};
    const disk = {
      chunkLength: BLOCK,
      put: (_i: number, _b: Uint8Array, cb: (err: Error | null) => void) => (finishWrite = () => cb(null)),
      get: (_i: number, _o: unknown, cb: (err: Error | null, b: Uint8Array) => void) => cb(new Error('not on disk yet'), new Uint8Array()),
    };
    const store = new ImmediateChunkStore(disk);
    const piece = randomBytes(BLOCK);
    store.put(7, piece, () => {});
    const read = (opts: { offset?: number; length?: number } | null): Promise<Uint8Array> =>
      new Promise((resolve, reject) => store.get(7, opts, (err, b) => (err ? reject(err) : resolve(b))));
    const whole = await read(null);
    const part = await read({ offset: 100, length: 50 });
    const expected = [Buffer.from(whole), Buffer.from(part)];
    piece.fill(0); // the buffer reused for another piece
    expect(Buffer.from(whole).equals(expected[0]!)).toBe(true);
    expect(Buffer.from(part).equals(expected[1]!)).toBe(true);
    expect(whole.buffer).not.toBe(piece.buffer);
    finishWrite();
  });
});

describe('random-access-file as patched', () => {
  const MiB = 1 << 20;

  it('writes the pieces past the page cache, every byte in place', async () => {
    const dir = await newTestDir('raf');
    const path = join(dir, 'image.img');
    const file = new RandomAccessFile(path);
    const pieces = [randomBytes(MiB), randomBytes(MiB), randomBytes(MiB - 5)];
    try {
      for (const i of [1, 0, 2]) await new Promise<void>((resolve, reject) => file.write(i * MiB, pieces[i]!, (err) => (err ? reject(err) : resolve())));
    } finally {
      await new Promise<void>((resolve) => file.close(() => resolve()));
    }
    expect(residentBytes(path)).toBeLessThanOrEqual(4096); // only the last block, which is not whole
    expect((await readFile(path)).equals(Buffer.concat(pieces))).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes bytes off the block boundaries through the page cache, every byte in place', async () => {
    const data = randomBytes(2 * MiB + 5);
    const { writes, back } = await writeAt(7, data);
    // Up to the first block boundary; then the whole blocks directly, 1 MiB at a time; then the 12 bytes left.
    expect(writes).toEqual([4089, MiB, MiB - 4096, 12]);
    expect(back.length).toBe(7 + data.length);
    expect(back.subarray(7).equals(data)).toBe(true);
  });

  it('with IMAGEPROXY_DIRECT_WRITES=off, writes through the page cache in slices of at most 256 KiB', async () => {
    process.env.IMAGEPROXY_DIRECT_WRITES = 'off';
    try {
      const data = randomBytes(4 * 256 * 1024 + 5);
      const { writes, back } = await writeAt(7, data);
      expect(writes).toEqual([262144, 262144, 262144, 262144, 5]);
      expect(back.subarray(7).equals(data)).toBe(true);
    } finally {
      delete process.env.IMAGEPROXY_DIRECT_WRITES;
    }
  });
});

