/** Activity: fetch the metadata file, check its SHA-1 against the GUID, parse it. */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { cancellationSignal } from '@temporalio/activity';
import { ErrorType } from '../../common/errors.js';
import type { ImagePart } from '../../common/image-types.js';
import type { ActivityDeps } from '../activity-deps.js';
import { SCRATCH_OWNER } from '../files/scratch-owner.js';
import { heartbeatWhile } from '../heartbeat-while.js';
import { pickTransport } from '../transports/pick-transport.js';
import { MetadataError, parseImageMetadata } from './parse-metadata.js';

/** Metadata files are small lists; anything larger is not one. */
export const MAX_METADATA_BYTES = 1024 * 1024;

export function makeFetchMetadata(deps: Pick<ActivityDeps, 'transports' | 'tmpDir'>) {
  return function fetchMetadata(input: { url: string; guid: string }): Promise<ImagePart[]> {
    return heartbeatWhile(() => fetchAndParse(input));
  };

  async function fetchAndParse({ url, guid }: { url: string; guid: string }): Promise<ImagePart[]> {
    const transport = pickTransport(deps.transports, url);
    const tmp = join(deps.tmpDir, `metadata-${guid}-${SCRATCH_OWNER}-${randomBytes(4).toString('hex')}`);
    let text: string;
    try {
      const got = await transport.fetchToFile({
        url,
        destPath: tmp,
        hashAlgorithm: 'sha1',
        maxBytes: MAX_METADATA_BYTES,
        signal: cancellationSignal(),
      });
      if (got.hashHex !== guid) {
        throw ApplicationFailure.create({
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
      throw ApplicationFailure.create({
        type: ErrorType.MalformedMetadata,
        nonRetryable: true,
        message: `metadata file ${url}: ${err.message}`,
      });
    }
  }
}
