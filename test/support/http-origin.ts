/**
 * A real HTTP origin on loopback for tests: serves files or buffers with Range/If-Range support,
 * counts requests and bytes per path, and injects faults (drop mid-body, wrong length, status,
 * slow body) on the next requests of a path.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export type Fault =
  /** Send the headers for the full body, then cut the connection after this many body bytes. */
  | { kind: 'drop'; afterBytes: number }
  /** Announce a Content-Length larger than the body actually sent, then end cleanly. */
  | { kind: 'short-body'; missingBytes: number }
  | { kind: 'status'; status: number }
  /** Pause this long before the body. */
  | { kind: 'delay'; ms: number }
  /** Ignore Range headers (a server without range support). */
  | { kind: 'no-range' }
  /** Send the body at about this rate. */
  | { kind: 'slow'; bytesPerSecond: number };

type Content = { kind: 'buffer'; data: Buffer } | { kind: 'file'; path: string; size: number };

export interface RequestLog {
  path: string;
  range?: string;
  status: number;
  bytesSent: number;
}

export class HttpOrigin {
  private readonly contents = new Map<string, Content & { etag: string }>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly redirects = new Map<string, string>();
  readonly log: RequestLog[] = [];
  private server: Server | undefined;
  baseUrl = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Answer `path` with a 302 to `location`; returns the full URL. */
  addRedirect(path: string, location: string): string {
    this.redirects.set(path, location);
    return this.baseUrl + path;
  }

  /** Serve `data` at `path` (starting with `/`); returns the full URL. */
  addBuffer(path: string, data: Buffer | string): string {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.contents.set(path, { kind: 'buffer', data: buf, etag: `"${createHash('sha1').update(buf).digest('hex')}"` });
    return this.baseUrl + path;
  }

  async addFile(path: string, file: string): Promise<string> {
    const s = await stat(file);
    this.contents.set(path, { kind: 'file', path: file, size: s.size, etag: `"${s.size}-${s.mtimeMs}"` });
    return this.baseUrl + path;
  }

  /** Faults applied, in order, to the next requests of `path`. */
  injectFaults(path: string, ...faults: Fault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  requestsOf(path: string): number {
    return this.log.filter((l) => l.path === path).length;
  }

  bytesSentOf(path: string): number {
    return this.log.filter((l) => l.path === path).reduce((n, l) => n + l.bytesSent, 0);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry: RequestLog = { path, status: 0, bytesSent: 0, ...(req.headers.range ? { range: req.headers.range } : {}) };
    this.log.push(entry);
    const location = this.redirects.get(path);
    if (location) return void this.reply(res, entry, 302, { location });
    const content = this.contents.get(path);
    const fault = this.faults.get(path)?.shift();
    if (!content) return void this.reply(res, entry, 404);
    if (fault?.kind === 'status') return void this.reply(res, entry, fault.status);

    const size = content.kind === 'buffer' ? content.data.length : content.size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && fault?.kind !== 'no-range' && (ifRange === undefined || ifRange === content.etag)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size) return void this.reply(res, entry, 416, { 'content-range': `bytes */${size}` });
      status = 206;
    }
    const length = end - start + 1;
    const headers: Record<string, string | number> = {
      'content-length': length + (fault?.kind === 'short-body' ? fault.missingBytes : 0),
      etag: content.etag,
      'accept-ranges': fault?.kind === 'no-range' ? 'none' : 'bytes',
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    entry.status = status;
    res.writeHead(status, headers);
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));

    const body =
      content.kind === 'buffer' ? Readable.from([content.data.subarray(start, end + 1)]) : createReadStream(content.path, { start, end });
    const limit = fault?.kind === 'drop' ? fault.afterBytes : Infinity;
    const pace = fault?.kind === 'slow' ? fault.bytesPerSecond : undefined;
    for await (const whole of body as AsyncIterable<Buffer>) {
      // A slow body goes out in 1/10 s slices.
      const slice = pace ? Math.max(1, Math.floor(pace / 10)) : whole.length;
      for (let at = 0; at < whole.length; at += slice) {
        const chunk = whole.subarray(at, at + slice);
        if (pace) await new Promise((r) => setTimeout(r, 100));
        const room = limit - entry.bytesSent;
        const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
        if (piece.length > 0) {
          entry.bytesSent += piece.length;
          if (entry.bytesSent >= limit) {
            // Into the kernel before the drop, so the client really receives afterBytes bytes.
            await new Promise((r) => res.write(piece, r));
          } else if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
        }
        if (entry.bytesSent >= limit) {
          (body as Readable).destroy();
          res.socket?.destroy();
          return;
        }
        if (res.destroyed) return;
      }
    }
    res.end();
  }

  private reply(res: ServerResponse, entry: RequestLog, status: number, headers: Record<string, string> = {}): void {
    entry.status = status;
    res.writeHead(status, headers).end();
  }
}
