/**
 * webtorrent's web seed connection (BEP 19) as patched for CPU (patches/, docs/transports.md "CPU
 * per GiB"): a piece is read from the HTTP server into the buffer that becomes its wire message,
 * so it must hold exactly the bytes asked for (across the files of a multi-file torrent too), refuse
 * a server that ignores the range, and leave as one message. Patched for safety too: a redirect is
 * not followed, and the torrent may say how ranges are fetched (ImageProxy: web-seed-request.ts).
 * Against a real HTTP server on loopback.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebConn, { type WebConnTorrent } from 'webtorrent/lib/webconn.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PIECE = 256 * 1024;
const files: Record<string, Buffer> = {
  '/whole.img': randomBytes(3 * PIECE + 5000),
  '/set/a.img': randomBytes(PIECE + 777),
  '/set/b.img': randomBytes(2 * PIECE),
};

/**
 * Serves `files` with byte ranges, except under /no-ranges/, which answers 200 with everything, and
 * under /moved/, which redirects to the same path without it.
 */
function rangeServer(): Server {
  return createServer((req, res) => {
    if (req.url!.startsWith('/moved/')) return void res.writeHead(302, { location: req.url!.slice('/moved'.length) }).end();
    const ignoreRange = req.url!.startsWith('/no-ranges/');
    const body = files[ignoreRange ? req.url!.slice('/no-ranges'.length) : req.url!];
    if (!body) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (ignoreRange || !m) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    const [start, end] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
    res.end(body.subarray(start, end + 1));
  });
}

function request(conn: WebConn, index: number, offset: number, length: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    void conn.httpRequest(index, offset, length, (err, data) => (err ? reject(err) : resolve(data!)));
  });
}

describe('webtorrent web seed connection as patched', () => {
  const server = rangeServer();
  let base = '';
  const conns: WebConn[] = [];
  const connect = (url: string, torrent: WebConnTorrent): WebConn => {
    const conn = new WebConn(url, torrent);
    conns.push(conn);
    return conn;
  };
  const singleFile: WebConnTorrent = { pieceLength: PIECE, path: 'whole', pieces: [], files: [{ offset: 0, length: files['/whole.img']!.length, path: 'whole/whole.img' }] };

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const conn of conns) conn.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('reads exactly the range of a piece asked for', async () => {
    const data = await request(connect(`${base}/whole.img`, singleFile), 2, 1000, 100_000);
    expect(Buffer.from(data).equals(files['/whole.img']!.subarray(2 * PIECE + 1000, 2 * PIECE + 101_000))).toBe(true);
  });

  it('puts a range that spans two files of a multi-file torrent together in order', async () => {
    const [a, b] = [files['/set/a.img']!, files['/set/b.img']!];
    const torrent: WebConnTorrent = {
      pieceLength: PIECE,
      path: '/downloads', // where webtorrent keeps it: not part of the URL (BEP 19: the web seed's URL, then name/file)
      pieces: [],
      files: [{ offset: 0, length: a.length, path: 'set/a.img' }, { offset: a.length, length: b.length, path: 'set/b.img' }],
    };
    const data = await request(connect(`${base}/`, torrent), 1, 0, PIECE);
    expect(Buffer.from(data).equals(Buffer.concat([a, b]).subarray(PIECE, 2 * PIECE))).toBe(true);
  });

  it('fails a piece whose server ignored the range and sent the whole file', async () => {
    await expect(request(connect(`${base}/no-ranges/whole.img`, singleFile), 1, 0, PIECE)).rejects.toThrow(/sent more than the 262144 bytes asked for \(status 200\)/);
  });

  it('does not follow a redirect: the policy checked the web seed, not where it points', async () => {
    await expect(request(connect(`${base}/moved/whole.img`, singleFile), 1, 0, PIECE)).rejects.toThrow('HTTP 302 (web seed redirects are not followed)');
  });

  it("fetches with the torrent's own webSeedRequest when it has one (ImageProxy's, held to the outbound policy)", async () => {
    const asked: [string, number, number][] = [];
    const torrent: WebConnTorrent = {
      ...singleFile,
      webSeedRequest: async (url, range) => {
        asked.push([url, range.start, range.end]);
        const bytes = files['/whole.img']!.subarray(range.start, range.end + 1);
        return { status: 206, body: (async function* () { yield bytes; })(), discard: () => {} };
      },
    };
    const data = await request(connect('http://seed.example/whole.img', torrent), 2, 0, 1000);
    expect(asked).toEqual([['http://seed.example/whole.img', 2 * PIECE, 2 * PIECE + 999]]);
    expect(Buffer.from(data).equals(files['/whole.img']!.subarray(2 * PIECE, 2 * PIECE + 1000))).toBe(true);
  });

  it('sends the piece to the wire as one message: header and data in one chunk', async () => {
    const conn = connect(`${base}/whole.img`, singleFile);
    const data = await request(conn, 1, 0, PIECE);
    const chunks: Uint8Array[] = [];
    conn.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    conn.piece(1, 0, data);
    await new Promise((r) => setImmediate(r));
    expect(chunks).toHaveLength(1);
    const message = Buffer.from(chunks[0]!);
    expect([message.readUInt32BE(0), message[4], message.readUInt32BE(5), message.readUInt32BE(9)]).toEqual([9 + PIECE, 7, 1, 0]);
    expect(message.subarray(13).equals(files['/whole.img']!.subarray(PIECE, 2 * PIECE))).toBe(true);
  });
});
