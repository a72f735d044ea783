/**
 * Streams an image file from the cache into Glance (`PUT /v2/images/{id}/file`, or `/stage` for
 * the interoperable import) and computes, in the same pass, the hashes Glance will report: its
 * multihash (`os_hash_algo`, sha512 unless the site says otherwise) and the md5 `checksum`. Memory
 * stays bounded by the stream's buffers; progress is reported per chunk for the heartbeat.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { GlanceClient } from './glance-client.js';
import { httpFailure, siteRejected, unreachable } from './glance-failures.js';

export interface UploadResult {
  size: number;
  /** Hex digest in the site's multihash algorithm. */
  multihash: string;
  md5: string;
}

/**
 * Another attempt (a second GUID sharing this part) got in the way: Glance answered 409 (it is
 * uploading into this image right now: `busy`), or 404/410 (it removed this image as a duplicate
 * of the one it adopted, before or during our upload: `gone`).
 */
export class UploadConflictError extends Error {
  constructor(
    readonly imageId: string,
    readonly conflict: 'busy' | 'gone',
  ) {
    super(conflict === 'busy' ? `image ${imageId} is being uploaded by another attempt` : `image ${imageId} was removed by another attempt`);
    this.name = 'UploadConflictError';
  }
}

export interface UploadOptions {
  glance: GlanceClient;
  imageId: string;
  path: string;
  /** `file`: the data upload; `stage`: staging for `glance-direct`. */
  target: 'file' | 'stage';
  hashAlgorithm: string;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}

export async function uploadImageData(options: UploadOptions): Promise<UploadResult> {
  const { glance, imageId } = options;
  const { size } = await stat(options.path); // a missing cache file fails here, before any byte is sent
  for (let attempt = 0; ; attempt++) {
    const token = await glance.tokens.token(options.signal);
    const url = new URL(`${await glance.tokens.imageUrl(options.signal)}/v2/images/${encodeURIComponent(imageId)}/${options.target}`);
    const multihash = createHash(options.hashAlgorithm);
    const md5 = createHash('md5');
    const { status, body } = await send(url, token, size, options, [multihash, md5]);
    if (status === 401 && attempt === 0 && glance.tokens.refused(token)) continue;
    if (status === 409) throw new UploadConflictError(imageId, 'busy');
    if (status === 404 || status === 410) throw new UploadConflictError(imageId, 'gone');
    if (status === 401) throw siteRejected(glance.site, `Glance refused the site's token for the upload of image ${imageId} (401)`);
    if (status < 200 || status >= 300) throw httpFailure(glance.site, `Glance PUT /v2/images/${imageId}/${options.target}`, status, body);
    return { size, multihash: multihash.digest('hex'), md5: md5.digest('hex') };
  }
}

async function send(url: URL, token: string | undefined, size: number, options: UploadOptions, hashes: Hash[]): Promise<{ status: number; body: string }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request(url, {
    method: 'PUT',
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
      ...(token ? { 'X-Auth-Token': token } : {}),
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  let sent = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (const h of hashes) h.update(chunk);
      sent += chunk.length;
      options.onProgress?.(sent);
      done(null, chunk);
    },
  });
  // An early answer (401, 413) ends the upload: the body's own error then is not the news.
  const sending = pipeline(createReadStream(options.path, { highWaterMark: 1 << 20 }), hashing, req).catch((err: unknown) => err);
  let response: IncomingMessage;
  try {
    response = await answered;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw unreachable(options.glance.site, `Glance ${url.origin}`, err);
  }
  let body = '';
  for await (const chunk of response) body += (chunk as Buffer).toString();
  const sendError = await sending;
  if (response.statusCode !== undefined && response.statusCode < 300 && sendError) throw sendError;
  if (response.statusCode !== undefined && response.statusCode < 300 && sent !== size) {
    throw new Error(`the cache file ${options.path} changed during the upload (${sent} of ${size} bytes sent)`);
  }
  return { status: response.statusCode ?? 0, body };
}
