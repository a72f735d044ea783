/** Asks one peer endpoint for one byte range of a part (the client side of peer-wire.ts). */
import http from 'node:http';
import { splitHostPort } from './peer-server.js';
import { parseContentRange, PART_PATH_PREFIX } from './peer-wire.js';

/** What a peer answered for a range. */
export type RangeAnswer =
  /** `progress`: the bytes the peer has of the part, when it said. */
  | { kind: 'bytes'; data: Buffer; total: number; progress?: number }
  /** The peer has the part but not these bytes yet (it is still downloading; `progress`: its bytes so far). */
  | { kind: 'behind'; progress?: number }
  /** The peer cannot help with this part (unreachable, no such part, refused us, broke the wire). */
  | { kind: 'failed'; reason: string };

export interface PeerClientOptions {
  token: string;
  connectTimeoutMs: number;
  /** Time without a byte once connected (the endpoint itself waits up to 10 s for bytes to appear). */
  idleTimeoutMs?: number;
}

export type FetchRange = (peer: string, name: string, start: number, end: number, signal?: AbortSignal) => Promise<RangeAnswer>;

export function createPeerClient(options: PeerClientOptions): { fetchRange: FetchRange; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const idleMs = options.idleTimeoutMs ?? 20_000;

  const fetchRange: FetchRange = (peer, name, start, end, signal) =>
    new Promise<RangeAnswer>((resolve) => {
      const { host, port } = splitHostPort(peer);
      let settled = false;
      const done = (answer: RangeAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        resolve(answer);
      };
      const req = http.request({
        host,
        port,
        path: PART_PATH_PREFIX + name,
        method: 'GET',
        agent,
        signal,
        headers: { authorization: `Bearer ${options.token}`, range: `bytes=${start}-${end - 1}` },
      });
      const connectTimer = setTimeout(() => {
        req.destroy();
        done({ kind: 'failed', reason: `no connection within ${options.connectTimeoutMs} ms` });
      }, options.connectTimeoutMs);
      req.on('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.setTimeout(idleMs, () => {
        req.destroy();
        done({ kind: 'failed', reason: `no answer for ${idleMs} ms` });
      });
      req.on('error', (err) => done({ kind: 'failed', reason: err.message }));
      req.on('response', (res) => {
        if (res.statusCode === 503) {
          res.resume();
          const progress = Number(res.headers['x-part-progress']);
          done(Number.isFinite(progress) ? { kind: 'behind', progress } : { kind: 'behind' });
          return;
        }
        const range = parseContentRange(res.headers['content-range']);
        if (res.statusCode !== 206 || !range || range.start !== start || range.end !== Math.min(end, range.total) - 1) {
          res.resume();
          done({ kind: 'failed', reason: `answered ${res.statusCode} ${res.headers['content-range'] ?? ''} for bytes ${start}-${end - 1}` });
          return;
        }
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          length += c.length;
        });
        res.on('error', (err) => done({ kind: 'failed', reason: err.message }));
        res.on('close', () => done({ kind: 'failed', reason: `connection closed after ${length} bytes` }));
        res.on('end', () => {
          const expected = range.end - range.start + 1;
          if (length !== expected) done({ kind: 'failed', reason: `sent ${length} of ${expected} bytes` });
          else {
            const progress = Number(res.headers['x-part-progress']);
            done({ kind: 'bytes', data: Buffer.concat(chunks, length), total: range.total, ...(Number.isFinite(progress) ? { progress } : {}) });
          }
        });
      });
      req.end();
    });
  return { fetchRange, close: () => agent.destroy() };
}
