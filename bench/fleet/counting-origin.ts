/**
 * The image's origin for bench/fleet: serves files (with single-range requests, which web seeds and
 * resumed transfers use), counts every body byte it sends, and can cap its whole uplink (all
 * connections together) to a rate, like a WAN origin.
 */
import { open } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const CHUNK = 256 << 10;

export class CountingOrigin {
  private server: Server | undefined;
  private readonly files = new Map<string, { path: string; size: number }>();
  private readonly texts = new Map<string, Buffer>();
  /** Body bytes sent since the last reset, all paths. */
  bytesSent = 0;
  baseUrl = '';
  private tokens = 0;
  private last = Date.now();

  constructor(private readonly bytesPerSecond: number | undefined) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.serve(req.url ?? '/', req.headers.range, res).catch(() => res.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  addFile(path: string, file: string, size: number): string {
    this.files.set(path, { path: file, size });
    return this.baseUrl + path;
  }

  addText(path: string, text: string | Buffer): string {
    this.texts.set(path, Buffer.from(text));
    return this.baseUrl + path;
  }

  resetCount(): void {
    this.bytesSent = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async serve(url: string, rangeHeader: string | undefined, res: ServerResponse): Promise<void> {
    const path = new URL(url, 'http://x').pathname;
    const text = this.texts.get(path);
    if (text) {
      res.writeHead(200, { 'content-length': text.length }).end(text);
      return;
    }
    const file = this.files.get(path);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    let end = file.size - 1;
    const m = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader ?? '');
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), file.size - 1) : file.size - 1;
    }
    const headers: Record<string, string | number> = { 'content-length': end - start + 1, 'accept-ranges': 'bytes', etag: `"${file.size}"` };
    if (m) headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    res.writeHead(m ? 206 : 200, headers);
    const fd = await open(file.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let at = start; at <= end && !res.destroyed; ) {
        const { bytesRead } = await fd.read(buf, 0, Math.min(CHUNK, end - at + 1), at);
        if (bytesRead === 0) break;
        await this.budget(bytesRead);
        const ok = res.write(Buffer.from(buf.subarray(0, bytesRead)));
        this.bytesSent += bytesRead;
        at += bytesRead;
        if (!ok) await drained(res);
      }
      res.end();
    } finally {
      await fd.close();
    }
  }

  /** Wait until the uplink may send `bytes` more (a token bucket holding at most one second's worth). */
  private async budget(bytes: number): Promise<void> {
    const rate = this.bytesPerSecond;
    if (!rate) return;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(rate, this.tokens + ((now - this.last) / 1000) * rate);
      this.last = now;
      if (this.tokens >= bytes) {
        this.tokens -= bytes;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.max(5, ((bytes - this.tokens) / rate) * 1000)));
    }
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve(); // gone before we listened: no event would come
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
