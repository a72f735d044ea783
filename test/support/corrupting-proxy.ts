/**
 * An HTTP proxy in front of a peer endpoint that flips bytes in every response body: a hostile or
 * broken peer, for the fleet tests. It counts the responses it corrupted.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class CorruptingProxy {
  private server: Server | undefined;
  corrupted = 0;
  address = '';

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const upstream = http.request({ ...this.target, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        let first = true;
        answer.on('data', (chunk: Buffer) => {
          if (first && answer.statusCode === 206) {
            chunk[0] = chunk[0]! ^ 0xff; // one wrong byte per response
            this.corrupted++;
          }
          first = false;
          res.write(chunk);
        });
        answer.on('end', () => res.end());
        answer.on('error', () => res.destroy());
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
