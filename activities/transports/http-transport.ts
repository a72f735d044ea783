/**
 * HTTP(S) transport: one pass from the socket through the hash into the file.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HttpConfig } from '../../config/config-schema.js';
import { originRejected, transferInterrupted, urlNotAllowed } from './transfer-errors.js';
import type { FetchRequest, FetchResult, Transport } from './transport.js';

export interface HttpTransportOptions {
  config: HttpConfig;
}

export function createHttpTransport({ config }: HttpTransportOptions): Transport {
  return {
    name: 'http',
    handles: (url) => url.protocol === 'http:' || url.protocol === 'https:',
    fetchToFile: (request) => fetchToFile(config, request),
  };
}

/** Whether `host` matches the allowlist (exact names, or `*.suffix`). No list allows every host. */
export function hostAllowed(host: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  const h = host.toLowerCase();
  return allowed.some((a) => {
    const rule = a.toLowerCase();
    return rule.startsWith('*.') ? h.endsWith(rule.slice(1)) : h === rule;
  });
}

async function fetchToFile(config: HttpConfig, request: FetchRequest): Promise<FetchResult> {
  const response = await open(config, new URL(request.url), request.signal, 0);
  const lengthHeader = response.headers['content-length'];
  const expected = lengthHeader !== undefined ? Number(lengthHeader) : undefined;
  if (expected !== undefined && request.maxBytes !== undefined && expected > request.maxBytes) {
    response.destroy();
    throw originRejected(`${request.url}: ${expected} bytes is more than the ${request.maxBytes} allowed`);
  }
  const hash = createHash(request.hashAlgorithm);
  const counter = new HashingCounter(hash, request.maxBytes, request.url, (bytesDone) =>
    request.onProgress?.({ bytesDone, ...(expected !== undefined ? { bytesTotal: expected } : {}) }),
  );
  response.socket.setTimeout(config.idleTimeoutMs, () =>
    response.destroy(transferInterrupted(`${request.url}: no data for ${config.idleTimeoutMs} ms`)),
  );
  try {
    await pipeline(response, counter, createWriteStream(request.destPath), { signal: request.signal });
  } catch (err) {
    if (err instanceof Error && err.name === 'ApplicationFailure') throw err;
    if (request.signal?.aborted) throw err;
    throw transferInterrupted(`${request.url}: transfer broke after ${counter.bytes} bytes: ${(err as Error).message}`, err as Error);
  }
  if (!response.complete || (expected !== undefined && counter.bytes !== expected)) {
    throw transferInterrupted(
      `${request.url}: body ended after ${counter.bytes} of ${expected ?? 'unknown'} bytes (Content-Length ${expected ?? 'absent'})`,
    );
  }
  return { bytes: counter.bytes, hashHex: hash.digest('hex') };
}

/** Send a GET, following redirects; resolves with a 2xx response or throws a classified failure. */
async function open(config: HttpConfig, url: URL, signal: AbortSignal | undefined, redirects: number): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw urlNotAllowed(`${url.href}: only http and https are fetched over HTTP`);
  if (!hostAllowed(url.hostname, config.allowedHosts)) {
    throw urlNotAllowed(`${url.href}: host ${url.hostname} is not in http.allowedHosts`);
  }
  const client = url.protocol === 'https:' ? https : http;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = client.get(url, { signal, headers: { 'user-agent': 'imageproxy' } }, resolve);
    const connectTimer = setTimeout(
      () => req.destroy(transferInterrupted(`${url.href}: no answer within ${config.connectTimeoutMs} ms`)),
      config.connectTimeoutMs,
    );
    req.on('response', () => clearTimeout(connectTimer));
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(err.name === 'ApplicationFailure' || signal?.aborted ? err : transferInterrupted(`${url.href}: ${err.message}`, err));
    });
  });
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return response;
  response.resume();
  const location = response.headers.location;
  if (status >= 300 && status < 400 && location) {
    if (redirects >= config.maxRedirects) throw originRejected(`${url.href}: more than ${config.maxRedirects} redirects`);
    return open(config, new URL(location, url), signal, redirects + 1);
  }
  const what = `${url.href}: HTTP ${status} ${response.statusMessage ?? ''}`.trim();
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw originRejected(what);
  throw transferInterrupted(what);
}

/** Passes bytes through while hashing and counting them, and enforces a size limit. */
class HashingCounter extends Transform {
  bytes = 0;
  constructor(
    private readonly hash: Hash,
    private readonly maxBytes: number | undefined,
    private readonly url: string,
    private readonly onBytes: (bytes: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) {
      done(originRejected(`${this.url}: more than the ${this.maxBytes} bytes allowed`));
      return;
    }
    this.hash.update(chunk);
    this.onBytes(this.bytes);
    done(null, chunk);
  }
}
