/**
 * HTTP(S) transport: one pass from the socket through the hash into the file, resumable.
 *
 * Resume: the partial file's size is where the previous attempt got to (the file, not the last
 * heartbeat, is the truth: it may hold more). The request asks for the rest with `Range` and
 * `If-Range` on the validator the first response carried (kept in a small state file next to the
 * partial, and in the heartbeat as a fallback), so a changed file comes back whole (200) and is
 * started over. Node cannot serialize a hash's internal state, so the hash of the kept prefix is
 * rebuilt by re-reading it from local disk, while the request is on its way.
 */
import { createHash, type Hash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LookupFunction } from 'node:net';
import { ImageProxyError } from '../../common/errors.js';
import { urlForDisplay } from '../../common/url-for-display.js';
import type { HttpConfig } from '../../config/config-schema.js';
import { writeToFile } from '../files/file-closed.js';
import { createOutboundPolicy, type OutboundPolicy } from '../network/outbound-policy.js';
import { hashPrefix, resumePoint, type HttpResumeState, type RangeAsk } from './http-resume-point.js';
import { classifyStatus, ifRangeValidatorOf, parseContentRange } from './http-resume-rules.js';
import { originRejected, transferInterrupted, urlNotAllowed } from './transfer-errors.js';
import type { FetchRequest, FetchResult, Transport } from './transport.js';

export interface HttpTransportOptions {
  config: HttpConfig;
  /** Name resolution for the outbound policy (a seam for tests); default `dns.lookup`. */
  resolve?: LookupFunction;
}

export function createHttpTransport({ config, resolve }: HttpTransportOptions): Transport {
  const policy = createOutboundPolicy({ allowedHosts: config.allowedHosts, allowedNetworks: config.allowedNetworks, ...(resolve ? { resolve } : {}) });
  const settings: HttpSettings = { ...config, policy };
  return {
    name: 'http',
    handles: (url) => url.protocol === 'http:' || url.protocol === 'https:',
    fetchToFile: (request) => fetchToFile(settings, request),
  };
}

/** The config with its compiled outbound policy. */
type HttpSettings = HttpConfig & { policy: OutboundPolicy };

/** Bytes the hashing stage may hold while the file takes the previous ones. */
const WRITE_BUFFER_BYTES = 1 << 20;

async function fetchToFile(config: HttpSettings, request: FetchRequest): Promise<FetchResult> {
  const url = new URL(request.url);
  const ask = request.resume ? await resumePoint(request) : undefined;
  if (!ask) return transfer(config, request, await open(config, url, request.signal), 0, createHash(request.hashAlgorithm));

  // Rebuild the prefix's hash while the request is on its way.
  const [prefix, opened] = await Promise.allSettled([hashPrefix(request, ask.offset), open(config, url, request.signal, ask)]);
  if (prefix.status === 'rejected' || opened.status === 'rejected') {
    if (opened.status === 'fulfilled') opened.value.destroy();
    throw prefix.status === 'rejected' ? prefix.reason : (opened as PromiseRejectedResult).reason;
  }
  const response = opened.value;
  if (response.statusCode === 206) {
    const range = parseContentRange(response.headers['content-range']);
    if (range && range.start === ask.offset) return transfer(config, request, response, ask.offset, prefix.value, range.total);
    response.destroy(); // a range we did not ask for: start over
  } else if (response.statusCode === 416) {
    const range = parseContentRange(response.headers['content-range']);
    response.resume();
    // The previous attempt had every byte; it stopped before answering.
    if (range?.total === ask.offset) return { bytes: ask.offset, hashHex: prefix.value.digest('hex'), bytesResumed: ask.offset };
  } else if (response.statusCode !== undefined && response.statusCode < 300) {
    // 200: no range support, or the file changed since (If-Range): the whole content, from zero.
    return transfer(config, request, response, 0, createHash(request.hashAlgorithm));
  } else {
    response.resume();
  }
  return transfer(config, request, await open(config, url, request.signal), 0, createHash(request.hashAlgorithm));
}

/**
 * Stream `response` into the file from `offset` (appending to the kept prefix, or a new file when
 * 0), feeding `hash`, and check the length against what the origin announced.
 */
async function transfer(
  config: HttpSettings,
  request: FetchRequest,
  response: IncomingMessage,
  offset: number,
  hash: Hash,
  totalFromRange?: number,
): Promise<FetchResult> {
  const lengthHeader = response.headers['content-length'];
  const length = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const total = totalFromRange ?? (length !== undefined ? offset + length : undefined);
  if (total !== undefined && request.maxBytes !== undefined && total > request.maxBytes) {
    response.destroy();
    throw originRejected(`${urlForDisplay(request.url)}: ${total} bytes is more than the ${request.maxBytes} allowed`);
  }

  const validator = ifRangeValidatorOf(response.headers);
  const resumeToken = validator ? JSON.stringify({ url: request.url, validator } satisfies HttpResumeState) : undefined;
  if (request.resume && offset === 0) {
    // Written before the first body byte, so any prefix on disk has a known validator.
    if (resumeToken) await writeFile(request.resume.statePath, resumeToken);
    else await rm(request.resume.statePath, { force: true });
  }

  const counter = new HashingCounter(hash, offset, request.maxBytes, urlForDisplay(request.url), (bytesDone) =>
    request.onProgress?.({
      bytesDone,
      ...(total !== undefined ? { bytesTotal: total } : {}),
      ...(resumeToken ? { resumeToken } : {}),
    }),
  );
  response.socket.setTimeout(config.idleTimeoutMs, () =>
    response.destroy(transferInterrupted(`${urlForDisplay(request.url)}: no data for ${config.idleTimeoutMs} ms after ${counter.bytes} bytes`)),
  );
  // A broken connection ends the body rather than failing the pipeline: the bytes already received
  // (up to a few MiB in the counter's and file's buffers) are written, not dropped, so a retry
  // resumes from everything that arrived. writeToFile: on any other failure the kept prefix is
  // final before anyone resumes from it.
  let broke: Error | undefined;
  async function* bodyUntilBroken(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of response) yield chunk as Buffer;
    } catch (err) {
      broke = err as Error;
    }
  }
  try {
    await writeToFile(request.destPath, offset, (file) => pipeline(bodyUntilBroken(), counter, file, { signal: request.signal }));
  } catch (err) {
    response.destroy(); // the generator may be parked on the socket; nothing reads it any more
    throw failureOfTransfer(request, err, counter.bytes, length);
  } finally {
    response.socket?.setTimeout(0);
  }
  if (broke) throw failureOfTransfer(request, broke, counter.bytes, length);
  // The origin closes the connection after the body (we asked for `Connection: close`); anything it
  // sends before that is more than the Content-Length it announced.
  await closed(response, SOCKET_CLOSE_WAIT_MS);
  response.socket?.destroy();
  const late = lateErrors.get(response);
  // More bytes than announced will come again on every retry: final at once.
  if (late) throw originRejected(`${urlForDisplay(request.url)}: the origin sent more than its Content-Length of ${length} bytes (${late.message})`);
  const received = counter.bytes - offset;
  if (!response.complete || (length !== undefined && received !== length)) {
    throw transferInterrupted(
      `${urlForDisplay(request.url)}: body ended after ${received} of ${length ?? 'unknown'} bytes (Content-Length ${length ?? 'absent'})`,
    );
  }
  if (total !== undefined && counter.bytes !== total) {
    throw transferInterrupted(`${urlForDisplay(request.url)}: got ${counter.bytes} bytes, the origin announced ${total}`);
  }
  return { bytes: counter.bytes, hashHex: hash.digest('hex'), ...(offset > 0 ? { bytesResumed: offset } : {}) };
}

/** The failure to report for an error while streaming the body. */
function failureOfTransfer(request: FetchRequest, err: unknown, bytes: number, length: number | undefined): Error {
  if (err instanceof ImageProxyError || request.signal?.aborted) return err as Error;
  if (String((err as NodeJS.ErrnoException).code).startsWith('HPE_') && length !== undefined) {
    return originRejected(`${urlForDisplay(request.url)}: the origin sent more than its Content-Length of ${length} bytes (${(err as Error).message})`);
  }
  return transferInterrupted(`${urlForDisplay(request.url)}: transfer broke after ${bytes} bytes: ${(err as Error).message}`, err as Error);
}

/**
 * Send a GET (ranged when `range` is given), following redirects; resolves with a response to
 * read (2xx, or a 416 to a ranged request) or throws a classified failure.
 */
async function open(config: HttpSettings, url: URL, signal: AbortSignal | undefined, range?: RangeAsk, redirects = 0): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw urlNotAllowed(`${urlForDisplay(url.href)}: only http and https are fetched over HTTP`);
  config.policy.checkUrl(url); // and the address dialled, in `lookup` below
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { 'user-agent': 'imageproxy', 'accept-encoding': 'identity' };
  if (range) Object.assign(headers, { range: `bytes=${range.offset}-`, 'if-range': range.validator });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    // Own connection (no keep-alive pool): the idle timer and the socket's end belong to this transfer alone.
    const req = client.get(url, { signal, headers, agent: false, lookup: config.policy.lookupFor(url) }, resolve);
    const connectTimer = setTimeout(
      () => req.destroy(transferInterrupted(`${urlForDisplay(url.href)}: no answer within ${config.connectTimeoutMs} ms`)),
      config.connectTimeoutMs,
    );
    let answered: IncomingMessage | undefined;
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(connectTimer);
      answered = res;
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      if (answered) {
        // After the headers: bytes past Content-Length, or a broken connection mid-body.
        lateErrors.set(answered, err);
        answered.destroy(err);
      }
      reject(err instanceof ImageProxyError || signal?.aborted ? err : transferInterrupted(`${urlForDisplay(url.href)}: ${err.message}`, err));
    });
  });
  const status = response.statusCode ?? 0;
  const verdict = classifyStatus(status);
  if (verdict === 'ok' || (status === 416 && range)) return response;
  response.resume();
  const what = `${urlForDisplay(url.href)}: HTTP ${status} ${response.statusMessage ?? ''}`.trim();
  if (verdict === 'redirect') {
    const location = response.headers.location;
    if (!location) throw originRejected(`${what} without a Location`);
    if (redirects >= config.maxRedirects) throw originRejected(`${urlForDisplay(url.href)}: more than ${config.maxRedirects} redirects`);
    return open(config, new URL(location, url), signal, range, redirects + 1);
  }
  if (verdict === 'reject') throw originRejected(what);
  throw transferInterrupted(what);
}

/** Errors of a request that came after its response started (see `open`). */
const lateErrors = new WeakMap<IncomingMessage, Error>();

/** How long to wait, after the body, for the origin to close the connection. */
const SOCKET_CLOSE_WAIT_MS = 2000;

async function closed(response: IncomingMessage, ms: number): Promise<void> {
  const socket = response.socket;
  if (!socket || socket.closed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    socket.once('close', done);
    function done(): void {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    }
  });
}

/** Passes bytes through while hashing and counting them (from `start`), and enforces a size limit. */
class HashingCounter extends Transform {
  bytes: number;
  constructor(
    private readonly hash: Hash,
    start: number,
    private readonly maxBytes: number | undefined,
    private readonly url: string,
    private readonly onBytes: (bytes: number) => void,
  ) {
    super({ highWaterMark: WRITE_BUFFER_BYTES });
    this.bytes = start;
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
