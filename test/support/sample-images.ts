/** Publish generated images on a test origin: parts, metadata file, GUID. */
import { join } from 'node:path';
import { sha1Hex, writeSampleImage, type SamplePart } from '../../client/demo/sample-image.js';
import type { PartType } from '../../common/image-types.js';
import type { HttpOrigin } from './http-origin.js';
import { newTestDir } from './image-proxy-world.js';

export interface PublishedImage {
  url: string;
  guid: string;
  metadata: string;
  parts: (SamplePart & { path: string; urlPath: string })[];
}

let nextSeed = Math.floor(Math.random() * 1e6);

export async function publishSampleImage(
  origin: HttpOrigin,
  opts: { sizes?: Partial<Record<PartType, number>>; editMetadata?: (xml: string) => string } = {},
): Promise<PublishedImage> {
  const dir = await newTestDir('origin');
  const sample = await writeSampleImage(dir, { seed: nextSeed++, ...(opts.sizes ? { sizes: opts.sizes } : {}) });
  const prefix = `/${sha1Hex(dir).slice(0, 8)}`;
  const parts = [];
  for (const p of sample.parts) {
    await origin.addFile(`${prefix}/${p.file}`, join(dir, p.file));
    parts.push({ ...p, path: join(dir, p.file), urlPath: `${prefix}/${p.file}` });
  }
  let metadata = sample.metadataFor(origin.baseUrl + prefix);
  if (opts.editMetadata) metadata = opts.editMetadata(metadata);
  const url = origin.addBuffer(`${prefix}/image.xml`, metadata);
  return { url, guid: sha1Hex(metadata), metadata, parts };
}
