/** Part files as a host's cache holds them after download: verified bytes and their CachedPart. */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pseudoRandomBytes } from '../../client/demo/sample-image.js';
import type { CachedPart, PartType } from '../../common/image-types.js';

let seed = Math.floor(Math.random() * 1e6);

/** A part file of `size` pseudo-random bytes (a `zeros` tail makes it compressible), as the cache holds it. */
export async function writePart(dir: string, type: PartType, size: number, opts: { zeros?: number } = {}): Promise<CachedPart> {
  const data = Buffer.concat([pseudoRandomBytes(size - (opts.zeros ?? 0), ++seed), Buffer.alloc(opts.zeros ?? 0)]);
  const path = join(dir, `${type.toLowerCase()}-${seed}.img`);
  await writeFile(path, data);
  return {
    type,
    hash: { algorithm: 'sha1', hex: createHash('sha1').update(data).digest('hex') },
    url: `http://origin.invalid/${type.toLowerCase()}-${seed}.img`,
    path,
    size,
  };
}
