/**
 * The HTTP transport against real loopback servers: resume with Range/If-Range, clean restarts,
 * length checks, timeouts, status classes, redirects and the host allowlist.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../client/demo/sample-image.js';
import { HttpSchema } from '../../../config/config-schema.js';
import { classifyStatus, ifRangeValidatorOf, parseContentRange } from '../../../activities/transports/http-resume-rules.js';
import { createHttpTransport } from '../../../activities/transports/http-transport.js';
import type { FetchRequest, FetchResult } from '../../../activities/transports/transport.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { newTestDir } from '../../support/image-proxy-world.js';
import { ImageProxyError } from '../../../common/errors.js';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
const SIZE = 2 << 20;

async function failureOf(p: Promise<unknown>): Promise<ImageProxyError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ImageProxyError);
  return err as ImageProxyError;
}

describe('HTTP transport', () => {
  let origin: HttpOrigin;
  let dir: string;
  let n = 0;
  const transport = createHttpTransport({ config: HttpSchema.parse({ connectTimeoutMs: 1000, idleTimeoutMs: 1000, allowedNetworks: ['127.0.0.0/8'] }) });

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    dir = await newTestDir('http');
  });
  afterAll(async () => {
    await origin?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh path served by the origin, and a destination with resume state for it. */
  function serve(data: Buffer) {
    const path = `/blob-${++n}`;
    const url = origin.addBuffer(path, data);
    const destPath = join(dir, `dest-${n}`);
    const request: FetchRequest = { url, destPath, hashAlgorithm: 'sha1', resume: { statePath: `${destPath}.resume` } };
    return { path, url, destPath, request };
  }

  it('resumes after a dropped connection from every byte received, with Range and If-Range, rebuilding the hash from the partial file', async () => {
    const data = pseudoRandomBytes(SIZE, 1);
    const { path, destPath, request } = serve(data);
    origin.injectFaults(path, { kind: 'drop', afterBytes: 700_000 });
    const broken = await failureOf(transport.fetchToFile(request));
    expect(broken.type).toBe('TransferInterrupted');
    expect(broken.nonRetryable).toBe(false);
    expect(broken.message).toMatch(/transfer broke after|body ended after/);
    // Every byte that arrived before the drop is on disk (none lost in stream buffers), and the
    // file no longer changes once the failure is reported.
    const kept = (await stat(destPath)).size;
    expect(kept).toBe(700_000);

    const got = await transport.fetchToFile(request);
    expect(got).toEqual({ bytes: SIZE, hashHex: sha1(data), bytesResumed: kept });
    expect(sha1(await readFile(destPath))).toBe(sha1(data));
    const second = origin.log.filter((l) => l.path === path)[1]!;
    expect(second).toMatchObject({ range: `bytes=${kept}-`, status: 206, bytesSent: SIZE - kept });
  });

  it('takes the validator from the last heartbeat when the state file is gone', async () => {
    const data = pseudoRandomBytes(SIZE, 2);
    const { path, destPath, request } = serve(data);
    await writeFile(destPath, data.subarray(0, 1000));
    const etag = `"${sha1(data)}"`; // what the test origin sends for a buffer
    const resumeToken = JSON.stringify({ url: request.url, validator: etag });
    const got = await transport.fetchToFile({ ...request, resume: { statePath: `${destPath}.resume`, lastProgress: { bytesDone: 1000, resumeToken } } });
    expect(got.bytesResumed).toBe(1000);
    expect(got.hashHex).toBe(sha1(data));
    expect(origin.log.filter((l) => l.path === path)).toHaveLength(1);
  });

  it('starts over when the file changed since (If-Range does not match: 200)', async () => {
    const old = pseudoRandomBytes(SIZE, 3);
    const { path, destPath, request } = serve(old);
    origin.injectFaults(path, { kind: 'drop', afterBytes: 500_000 });
    await failureOf(transport.fetchToFile(request));
    const changed = pseudoRandomBytes(SIZE, 4);
    origin.addBuffer(path, changed);
    const got = await transport.fetchToFile(request);
    expect(got.hashHex).toBe(sha1(changed));
    expect(got.bytesResumed).toBeUndefined();
    expect(sha1(await readFile(destPath))).toBe(sha1(changed));
    expect(origin.log.filter((l) => l.path === path)[1]).toMatchObject({ status: 200, bytesSent: SIZE });
  });

  it('starts over cleanly on a server without Range support', async () => {
    const data = pseudoRandomBytes(SIZE, 5);
    const { path, destPath, request } = serve(data);
    origin.injectFaults(path, { kind: 'drop', afterBytes: 500_000 }, { kind: 'no-range' });
    await failureOf(transport.fetchToFile(request));
    const got = await transport.fetchToFile(request);
    expect(got).toEqual({ bytes: SIZE, hashHex: sha1(data) });
    expect((await stat(destPath)).size).toBe(SIZE);
  });

  it('answers a partial file that already holds everything without fetching the body again (416)', async () => {
    const data = pseudoRandomBytes(SIZE, 6);
    const { path, destPath, request } = serve(data);
    await transport.fetchToFile(request);
    const got = await transport.fetchToFile(request);
    expect(got).toEqual({ bytes: SIZE, hashHex: sha1(data), bytesResumed: SIZE });
    expect(origin.log.filter((l) => l.path === path).map((l) => l.status)).toEqual([200, 416]);
    expect(sha1(await readFile(destPath))).toBe(sha1(data));
  });

  it('without resume options, overwrites whatever the destination held', async () => {
    const data = pseudoRandomBytes(4096, 7);
    const { destPath, request } = serve(data);
    await writeFile(destPath, Buffer.alloc(10_000, 1));
    const { resume: _ignored, ...plain } = request;
    expect(await transport.fetchToFile(plain)).toEqual({ bytes: 4096, hashHex: sha1(data) });
    expect((await stat(destPath)).size).toBe(4096);
  });

  it('a body shorter than its Content-Length is an interrupted transfer', async () => {
    const { path, request } = serve(pseudoRandomBytes(100_000, 8));
    origin.injectFaults(path, { kind: 'short-body', missingBytes: 1000 });
    const err = await failureOf(transport.fetchToFile(request));
    expect(err.type).toBe('TransferInterrupted');
    expect(err.message).toMatch(/body ended after 100000 of 101000 bytes|transfer broke after 100000 bytes/);
  });

  it('a body longer than its Content-Length is a final error, not a silently cut file nor a retry', async () => {
    const server = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789EXTRA-BYTES');
    });
    const err = await transport.fetchToFile({ url: server.url, destPath: join(dir, 'long'), hashAlgorithm: 'sha1' }).then(
      (r: FetchResult) => r,
      (e: unknown) => e as Error,
    );
    server.close();
    expect(err).toBeInstanceOf(ImageProxyError);
    expect((err as Error).message).toMatch(/sent more than its Content-Length of 10 bytes/);
    // It will send too much again on every retry: final at once.
    expect((err as ImageProxyError).type).toBe('OriginRejected');
    expect((err as ImageProxyError).nonRetryable).toBe(true);
  });

  it('classifies statuses: 404 and 403 final, 408, 429 and 5xx retried', async () => {
    for (const [status, type, nonRetryable] of [
      [404, 'OriginRejected', true],
      [403, 'OriginRejected', true],
      [408, 'TransferInterrupted', false],
      [429, 'TransferInterrupted', false],
      [500, 'TransferInterrupted', false],
      [503, 'TransferInterrupted', false],
    ] as const) {
      const { path, request } = serve(Buffer.from('x'));
      origin.injectFaults(path, { kind: 'status', status });
      const err = await failureOf(transport.fetchToFile(request));
      expect([status, err.type, err.nonRetryable]).toEqual([status, type, nonRetryable]);
      expect(err.message).toContain(`HTTP ${status}`);
      expect(err.message).toContain(request.url);
    }
  });

  it('gives up on a server that accepts but never answers (connect timeout)', async () => {
    const server = await rawServer(() => undefined);
    const started = Date.now();
    const err = await failureOf(transport.fetchToFile({ url: server.url, destPath: join(dir, 'silent'), hashAlgorithm: 'sha1' }));
    server.close();
    expect(err.type).toBe('TransferInterrupted');
    expect(err.message).toMatch(/no answer within 1000 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('gives up on a body that stalls (idle timeout), keeping what arrived', async () => {
    const server = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nETag: "stall"\r\n\r\n${'x'.repeat(1000)}`); // then silence
    });
    const destPath = join(dir, 'stalled');
    const err = await failureOf(
      transport.fetchToFile({ url: server.url, destPath, hashAlgorithm: 'sha1', resume: { statePath: `${destPath}.resume` } }),
    );
    server.close();
    expect(err.type).toBe('TransferInterrupted');
    expect(err.message).toMatch(/no data for 1000 ms after 1000 bytes/);
    expect((await stat(destPath)).size).toBe(1000);
    expect(JSON.parse(await readFile(`${destPath}.resume`, 'utf8'))).toEqual({ url: server.url, validator: '"stall"' });
  });

  it('follows redirects up to the limit, checks every hop against the allowlist', async () => {
    const data = pseudoRandomBytes(10_000, 10);
    const target = origin.addBuffer('/redirect-target', data);
    const hops = await redirectServer(target);
    const ok = await transport.fetchToFile({ url: `${hops.url}/hop/3`, destPath: join(dir, 'redir'), hashAlgorithm: 'sha1' });
    expect(ok.hashHex).toBe(sha1(data));

    const tooMany = await failureOf(transport.fetchToFile({ url: `${hops.url}/hop/9`, destPath: join(dir, 'redir2'), hashAlgorithm: 'sha1' }));
    expect(tooMany.type).toBe('OriginRejected');
    expect(tooMany.message).toMatch(/more than 5 redirects/);

    const toFile = await failureOf(transport.fetchToFile({ url: `${hops.url}/to-file`, destPath: join(dir, 'redir3'), hashAlgorithm: 'sha1' }));
    expect(toFile.type).toBe('UrlNotAllowed');
    expect(toFile.message).toMatch(/file:\/\/\/etc\/passwd: only http and https/);

    // 127.0.0.1 allowed, "localhost" (where the redirect goes) not.
    const strict = createHttpTransport({ config: HttpSchema.parse({ allowedHosts: ['127.0.0.1'], allowedNetworks: ['127.0.0.0/8'] }) });
    const elsewhere = await failureOf(strict.fetchToFile({ url: `${hops.url}/to-localhost`, destPath: join(dir, 'redir4'), hashAlgorithm: 'sha1' }));
    expect(elsewhere.type).toBe('UrlNotAllowed');
    expect(elsewhere.message).toMatch(/host localhost is not in http.allowedHosts/);
    hops.close();
  });

  it('refuses content larger than maxBytes, from the header or while counting', async () => {
    const { request } = serve(pseudoRandomBytes(100_000, 11));
    const err = await failureOf(transport.fetchToFile({ ...request, maxBytes: 50_000 }));
    expect(err.type).toBe('OriginRejected');
    expect(err.message).toMatch(/100000 bytes is more than the 50000 allowed/);
  });
});

describe('HTTP rules', () => {
  it('ifRangeValidatorOf prefers a strong ETag, never a weak one', () => {
    expect(ifRangeValidatorOf({ etag: '"abc"', 'last-modified': 'Tue, 24 Nov 2026 10:00:00 GMT' })).toBe('"abc"');
    expect(ifRangeValidatorOf({ etag: 'W/"abc"', 'last-modified': 'Tue, 24 Nov 2026 10:00:00 GMT' })).toBe('Tue, 24 Nov 2026 10:00:00 GMT');
    expect(ifRangeValidatorOf({ etag: 'W/"abc"' })).toBeUndefined();
    expect(ifRangeValidatorOf({})).toBeUndefined();
  });
  it('parseContentRange', () => {
    expect(parseContentRange('bytes 100-199/1000')).toEqual({ start: 100, end: 199, total: 1000 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange('bytes */1000')).toMatchObject({ total: 1000 });
    expect(parseContentRange('bytes 200-100/1000')).toBeUndefined();
    expect(parseContentRange('bytes 0-1000/1000')).toBeUndefined();
    expect(parseContentRange('items 0-1/2')).toBeUndefined();
    expect(parseContentRange(undefined)).toBeUndefined();
  });
  it('classifyStatus', () => {
    expect([200, 206, 301, 404, 408, 429, 500, 503].map(classifyStatus)).toEqual(['ok', 'ok', 'redirect', 'reject', 'retry', 'retry', 'retry', 'retry']);
  });
});

/** A TCP server that hands each connection to `onConnection` (to answer malformed HTTP, or nothing). */
async function rawServer(onConnection: (socket: Socket) => void): Promise<{ url: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** `/hop/N` redirects N times then to `target`; `/to-file` to a file: URL; `/to-localhost` to localhost. */
async function redirectServer(target: string): Promise<{ url: string; close: () => void }> {
  let server: Server | undefined;
  server = createHttpServer((req, res) => {
    const port = (server!.address() as AddressInfo).port;
    const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '');
    let location: string;
    if (hop) location = Number(hop[1]) > 0 ? `/hop/${Number(hop[1]) - 1}` : target;
    else if (req.url === '/to-file') location = 'file:///etc/passwd';
    else location = `http://localhost:${port}/hop/0`;
    res.writeHead(302, { location }).end();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server!.close() };
}
