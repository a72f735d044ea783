/** Activity: fetch the metadata file, check its SHA-1 against the GUID, parse it (metadata/fetch-metadata.ts), heartbeating. */
import { cancellationSignal } from '@temporalio/activity';
import type { ImagePart } from '../common/image-types.js';
import type { ActivityDeps } from './activity-deps.js';
import { heartbeatWhile } from './heartbeat-while.js';
import { fetchImageMetadata } from './metadata/fetch-metadata.js';

export function makeFetchMetadata(deps: Pick<ActivityDeps, 'transports' | 'tmpDir'>) {
  return function fetchMetadata(input: { url: string; guid: string }): Promise<ImagePart[]> {
    return heartbeatWhile(() => fetchImageMetadata(input, { transports: deps.transports, tmpDir: deps.tmpDir, signal: cancellationSignal() }));
  };
}
