/**
 * The peer endpoint serving a part written out of order (a BitTorrent download): a range is
 * answered once the pieces under it are verified, whatever comes before it; a request for a range
 * not verified yet is held until it is. Real endpoint and client on loopback; the torrent's bitfield
 * is a set of piece numbers here (the real one is read by test/workflows/fleet-distribution.test.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { createPeerClient } from '../../../../activities/transports/peer/peer-client.js';
import { startPeerServer, type PeerServer } from '../../../../activities/transports/peer/peer-server.js';
import { growingParts } from '../../../../activities/transports/peer/growing-parts.js';

const PIECE = 256 << 10;
const SIZE = 8 * PIECE;
const data = pseudoRandomBytes(SIZE, 11);
const name = createHash('sha1').update(data).digest('hex');
const TOKEN = 'peer-server-torrent-test-token';

describe('peer endpoint, a part written out of order', () => {
  let dir: string;
  let server: PeerServer;
  let client: ReturnType<typeof createPeerClient>;
  const verified = new Set<number>();
  let path: string;

  /** Write piece `i` where it belongs and mark it verified, as webtorrent does. */
  async function verify(i: number): Promise<void> {
    const file = await open(path, 'r+');
    await file.write(data, i * PIECE, PIECE, i * PIECE);
    await file.close();
    verified.add(i);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peer-torrent-'));
    path = join(dir, 'torrent-file');
    await (await open(path, 'w')).truncate(SIZE); // webtorrent's file: full length, holes until written
    verified.clear();
    const has = (start: number, end: number): boolean => {
      for (let i = Math.floor(start / PIECE); i <= Math.floor((end - 1) / PIECE); i++) if (!verified.has(i)) return false;
      return true;
    };
    growingParts.set(name, { path, sequential: false, has, bytesTotal: SIZE, bytesDone: 0 });
    server = await startPeerServer({
      listen: '127.0.0.1:0',
      token: TOKEN,
      cache: { nameOf: () => name, lookup: () => Promise.resolve(undefined) },
      logger: pino({ level: 'silent' }),
    });
    client = createPeerClient({ token: TOKEN, connectTimeoutMs: 5000 });
  });
  afterEach(async () => {
    client.close();
    await server.close();
    growingParts.delete(name, path);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a verified range although the pieces before it are missing', async () => {
    await verify(5);
    await verify(6);
    const answer = await client.fetchRange(server.address, name, 5 * PIECE, 7 * PIECE);
    expect(answer.kind).toBe('bytes');
    if (answer.kind !== 'bytes') return;
    expect(answer.total).toBe(SIZE);
    expect(answer.data.equals(data.subarray(5 * PIECE, 7 * PIECE))).toBe(true);
  });

  it('holds a request for a range until every piece under it is verified, then sends the bytes', async () => {
    await verify(0);
    const asked = client.fetchRange(server.address, name, 0, 2 * PIECE);
    let settled = false;
    void asked.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // piece 1 is not there yet
    await verify(1);
    const answer = await asked;
    expect(answer.kind).toBe('bytes');
    if (answer.kind === 'bytes') expect(answer.data.equals(data.subarray(0, 2 * PIECE))).toBe(true);
  });
});
