/**
 * A pass-through HTTP proxy in front of a real server that records each request's method and path,
 * so a test can say "nothing was uploaded" from what went over the wire. Bodies are streamed;
 * `bodyBytesPerSecond` slows request bodies down (so a test can act in the middle of an upload).
 * A client that goes away mid-request takes the upstream connection with it, as it would direct.
 * `goDown()` closes the port (connections refused, open ones cut) while the server behind keeps its
 * state, and `comeBack()` listens on the same port again: an endpoint outage that loses nothing.
 */
import { createServer, request, type Server } from 'node:http';
import { Transform } from 'node:stream';
import { freePort } from './bittorrent-peers.js';

export interface RecordingProxy {
  url: string;
  /** `METHOD /path` of every request so far. */
  requests: string[];
  /** `METHOD /path` of every request the server behind answered with 2xx, once the answer was sent whole. */
  succeeded: string[];
  /** Refuse connections and cut the open ones, as an endpoint that is down. */
  goDown(): Promise<void>;
  /** Listen on the same port again. */
  comeBack(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRecordingProxy(target: string, opts: { bodyBytesPerSecond?: number } = {}): Promise<RecordingProxy> {
  const to = new URL(target);
  const requests: string[] = [];
  const succeeded: string[] = [];
  const server: Server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    requests.push(line);
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
      (answer) => {
        const status = answer.statusCode ?? 502;
        res.writeHead(status, answer.headers);
        res.once('finish', () => {
          if (status >= 200 && status < 300) succeeded.push(line);
        });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
    if (opts.bodyBytesPerSecond) req.pipe(throttle(opts.bodyBytesPerSecond)).pipe(upstream);
    else req.pipe(upstream);
  });
  const port = await freePort();
  const listen = (): Promise<void> => new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const close = (): Promise<void> =>
    new Promise<void>((r) => {
      if (!server.listening) return r();
      server.close(() => r());
      server.closeAllConnections();
    });
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    succeeded,
    goDown: close,
    comeBack: listen,
    stop: close,
  };
}

/** Passes bytes on at about `bytesPerSecond`, in 16 KiB steps. */
function throttle(bytesPerSecond: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const step = 16 * 1024;
      const pieces: Buffer[] = [];
      for (let i = 0; i < chunk.length; i += step) pieces.push(chunk.subarray(i, i + step));
      const next = (): void => {
        const piece = pieces.shift();
        if (!piece) return done();
        this.push(piece);
        setTimeout(next, (piece.length / bytesPerSecond) * 1000);
      };
      next();
    },
  });
}
