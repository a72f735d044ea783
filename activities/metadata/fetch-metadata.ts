/** Fetch the metadata file, check its SHA-1 against the GUID, parse it (the fetchMetadata activity's work). */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorType, ImageProxyError } from '../../common/errors.js';
import type { ImagePart } from '../../common/image-types.js';
import { SCRATCH_OWNER } from '../files/scratch-owner.js';
import { pickTransport } from '../transports/pick-transport.js';
import type { Transport } from '../transports/transport.js';
import { MetadataError, parseImageMetadata } from './parse-metadata.js';

/** Metadata files are small lists; anything larger is not one. */
export const MAX_METADATA_BYTES = 1024 * 1024;

export interface FetchMetadataOptions {
  transports: readonly Transport[];
  /** Scratch space for the downloaded file (removed afterwards). */
  tmpDir: string;
  /** Stops the download (the activity's cancellation). */
  signal?: AbortSignal;
}

export async function fetchImageMetadata({ url, guid }: { url: string; guid: string }, options: FetchMetadataOptions): Promise<ImagePart[]> {
  const transport = pickTransport(options.transports, url);
  const tmp = join(options.tmpDir, `metadata-${guid}-${SCRATCH_OWNER}-${randomBytes(4).toString('hex')}`);
  let text: string;
  try {
    const got = await transport.fetchToFile({
      url,
      destPath: tmp,
      hashAlgorithm: 'sha1',
      maxBytes: MAX_METADATA_BYTES,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (got.hashHex !== guid) {
      throw new ImageProxyError({
        type: ErrorType.MetadataHashMismatch,
        nonRetryable: true,
        message: `metadata file ${url} has SHA-1 ${got.hashHex}, not the GUID ${guid} (${got.bytes} bytes)`,
      });
    }
    text = await readFile(tmp, 'utf8');
  } finally {
    await rm(tmp, { force: true });
  }
  try {
    return parseImageMetadata(text);
  } catch (err) {
    if (!(err instanceof MetadataError)) throw err;
    throw new ImageProxyError({ type: ErrorType.MalformedMetadata, nonRetryable: true, message: `metadata file ${url}: ${err.message}` });
  }
}
