/**
 * webtorrent's File#downloaded as patched (patches/webtorrent): the bytes of one file that are in
 * verified pieces, which ImageProxy reports as a torrent download's progress. The original took a
 * whole piece off a file that ends on a piece boundary, so a finished download never reached 100 %.
 */
import File from 'webtorrent/lib/file.js';
import { describe, expect, it } from 'vitest';

const PIECE = 16 * 1024;

/** The little of a torrent File reads: `length` bytes in pieces of PIECE, those in `verified` done. */
function torrent(length: number, verified: (index: number) => boolean): ConstructorParameters<typeof File>[0] {
  const count = Math.ceil(length / PIECE);
  return {
    pieceLength: PIECE,
    lastPieceLength: length - (count - 1) * PIECE,
    pieces: Array.from({ length: count }, (_, i) => (verified(i) ? null : { missing: i === count - 1 ? length - i * PIECE : PIECE })),
    bitfield: { get: verified },
    client: null,
  };
}

describe('webtorrent File#downloaded as patched', () => {
  it('counts every byte of a finished file that ends on a piece boundary', () => {
    const file = new File(torrent(4 * PIECE, () => true), { name: 'image.img', path: 'image.img', length: 4 * PIECE, offset: 0 });
    expect(file.downloaded).toBe(4 * PIECE);
  });

  it('counts only its own bytes for a file between two others, and nothing of pieces not verified', () => {
    const [offset, length] = [PIECE + 1000, 2 * PIECE]; // ends 1000 bytes into the fourth piece
    const all = new File(torrent(5 * PIECE, () => true), { name: 'b', path: 't/b', length, offset });
    expect(all.downloaded).toBe(length);
    const firstMissing = new File(torrent(5 * PIECE, (i) => i !== 1), { name: 'b', path: 't/b', length, offset });
    expect(firstMissing.downloaded).toBe(length - (PIECE - 1000));
  });

  it('counts every byte of a file that ends the torrent in a short last piece', () => {
    const length = 3 * PIECE + 123;
    const file = new File(torrent(length, () => true), { name: 'image.img', path: 'image.img', length, offset: 0 });
    expect(file.downloaded).toBe(length);
  });
});
