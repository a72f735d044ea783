/**
 * The peer endpoint of a host: serves byte ranges of the parts in its cache to the other hosts of
 * the deployment, including a part still being downloaded (the bytes written so far; a request for
 * bytes not there yet waits a little for them). Only requests carrying the shared token are
 * answered. One endpoint per process and listen address, shared by its site workers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HostCache } from '../../cache/host-cache.js';
import { countServedToPeers } from '../../metrics/image-proxy-metrics.js';
import { growingParts } from './growing-parts.js';
import { RecentRanges } from './recent-ranges.js';
import { SharedFileHandles } from './shared-file-handles.js';
import { hashOfName, parseRange, PART_PATH_PREFIX } from './peer-wire.js';

/** How long a request for bytes a growing part does not have yet waits for them. */
const WAIT_FOR_BYTES_MS = 10_000;
/** How often a waiting request looks at how far the download got (in memory; the file only once it is there). */
const POLL_MS = 20;
/** Ranges kept in memory for the next peers asking for the same ones (see recent-ranges.ts). */
const recentRanges = new RecentRanges(32 << 20);
const files = new SharedFileHandles(5_000);

export interface PeerServerOptions {
  /** HOST:PORT (port 0: a free one). */
  listen: string;
  token: string;
  cache: Pick<HostCache, 'nameOf' | 'lookup'>;
  logger: Logger;
}

export interface PeerServer {
  /** HOST:PORT actually bound. */
  address: string;
  close(): Promise<void>;
}

const running = new Map<string, { server: Promise<PeerServer>; refs: number }>();

/** The endpoint for `listen` in this process, started on first use; `release` when done with it. */
export async function acquirePeerServer(options: PeerServerOptions): Promise<{ server: PeerServer; release: () => Promise<void> }> {
  let entry = running.get(options.listen);
  if (!entry) {
    entry = { server: startPeerServer(options), refs: 0 };
    running.set(options.listen, entry);
  }
  entry.refs++;
  const mine = entry;
  const server = await mine.server.catch((err: unknown) => {
    running.delete(options.listen);
    throw err;
  });
  let released = false;
  return {
    server,
    async release() {
      if (released) return;
      released = true;
      if (--mine.refs === 0) {
        running.delete(options.listen);
        await server.close();
      }
    },
  };
}

export async function startPeerServer(options: PeerServerOptions): Promise<PeerServer> {
  const { host, port } = splitHostPort(options.listen);
  const tokenDigest = digest(options.token);
  const server = http.createServer((req, res) => {
    void answer(options, tokenDigest, req, res).catch((err: unknown) => {
      options.logger.warn({ err: (err as Error).message, url: req.url }, 'peer request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res());
  });
  const bound = server.address() as AddressInfo;
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  options.logger.info({ address }, 'peer endpoint listening');
  return {
    address,
    close: () =>
      new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      }),
  };
}

async function answer(options: PeerServerOptions, tokenDigest: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const auth = req.headers.authorization ?? '';
  const offered = auth.startsWith('Bearer ') ? digest(auth.slice(7)) : undefined;
  if (!offered || !timingSafeEqual(offered, tokenDigest)) {
    res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    return;
  }
  const url = req.url ?? '';
  const hash = url.startsWith(PART_PATH_PREFIX) ? hashOfName(url.slice(PART_PATH_PREFIX.length)) : undefined;
  const range = parseRange(req.headers.range);
  if (req.method !== 'GET' || !hash || !range) {
    res.writeHead(400).end('GET /v1/parts/<content hash> with Range: bytes=A-B\n');
    return;
  }
  const name = options.cache.nameOf(hash);
  const found = await openPart(options.cache, name, range, req);
  if (!found) {
    // 503: not that far yet; how far it got tells the asker this host is still at it.
    const progress = growingParts.get(name)?.bytesDone;
    res.writeHead(found === null ? 503 : 404, progress !== undefined ? { 'x-part-progress': String(progress) } : {}).end();
    return;
  }
  const { file, release, total, has } = found;
  try {
    const end = Math.min(range[1], total - 1);
    if (range[0] > end) {
      res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
      return;
    }
    // How far this host has the part: the asker sends its next pieces to the host furthest along.
    res.writeHead(206, { 'content-range': `bytes ${range[0]}-${end}/${total}`, 'content-length': String(end - range[0] + 1), 'x-part-progress': String(has) });
    const bytes = await recentRanges.read(name, file, range[0], end);
    // What actually went out to the peer (a peer may hang up part-way).
    res.on('close', () => countServedToPeers('peer', res.writableFinished ? bytes.length : 0));
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.end(bytes);
    });
  } finally {
    release();
  }
}

/** Verified parts already found in the cache: later requests open them without asking the index. */
const knownReady = new Map<string, { path: string; size: number }>();

/**
 * The open file of the part, its total size and the bytes this host has of it: the verified copy,
 * or a growing one that has the bytes of `range` (waiting a little for them). undefined: not here;
 * null: here, but not that far yet. The wait looks at the growing file only (no index lookups while polling).
 */
async function openPart(
  cache: Pick<HostCache, 'nameOf' | 'lookup'>,
  name: string,
  [first, last]: [number, number],
  req: IncomingMessage,
): Promise<{ file: FileHandle; release: () => void; total: number; has: number } | null | undefined> {
  const hash = hashOfName(name)!;
  const deadline = Date.now() + WAIT_FOR_BYTES_MS;
  const acquire = (path: string) => files.acquire(path).catch(() => undefined);
  for (;;) {
    const known = knownReady.get(name);
    if (known) {
      const got = await acquire(known.path);
      if (got) return { ...got, total: known.size, has: known.size };
      knownReady.delete(name); // evicted since
    }
    const growing = growingParts.get(name);
    let growingFile = false;
    if (growing?.has && growing.bytesTotal !== undefined) {
      // Written out of order (BitTorrent): its verified pieces, once they cover the range.
      const total = growing.bytesTotal;
      if (growing.has(first, Math.min(last + 1, total))) {
        const got = await acquire(growing.path);
        // Fetched in file order: its verified bytes are about a prefix this long.
        if (got) return { ...got, total, has: Math.max(growing.bytesDone ?? 0, Math.min(last + 1, total)) };
      }
      if (Date.now() >= deadline || req.destroyed) return null;
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    if (growing?.sequential && growing.bytesDone !== undefined && growing.bytesDone <= Math.min(last, (growing.bytesTotal ?? Infinity) - 1)) {
      // Not downloaded that far yet (the count runs a little ahead of the file, never behind).
      if (Date.now() >= deadline || req.destroyed) return null;
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    if (growing?.sequential && growing.bytesTotal !== undefined) {
      // A shared handle: a rename into the cache keeps it valid.
      const got = await acquire(growing.path);
      if (got) {
        growingFile = true;
        const needed = Math.min(last, growing.bytesTotal - 1) + 1;
        const size = await got.size(needed);
        if (size >= needed) return { file: got.file, release: got.release, total: growing.bytesTotal, has: size };
        got.release();
      }
    }
    if (!growingFile) {
      const done = await cache.lookup(hash);
      if (done) {
        knownReady.set(name, done);
        continue;
      }
      if (!growing) return undefined;
    }
    if (Date.now() >= deadline || req.destroyed) return null;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(hostPort.slice(i + 1)) };
}
