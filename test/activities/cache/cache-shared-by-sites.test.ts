/**
 * Two sites served from one host share its cache: the same image asked at both at once is
 * transferred once (one writer per cache file, by a lease in the cache index), both registrations
 * get the verified bytes, and the cache holds one intact copy.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOrigin } from '../../support/http-origin.js';
import { cacheDirOf, startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';
import { publishSampleImage } from '../../support/sample-images.js';

describe('a cache shared by the sites of one host', () => {
  let origin: HttpOrigin;
  let world: World;
  const [a, b] = [uniqueName('share-a'), uniqueName('share-b')];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [a]: { type: 'local' }, [b]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('transfers a part once when two sites ask for it at the same time', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 2 << 20 } });
    const fs = image.parts[0]!;
    origin.injectFaults(fs.urlPath, { kind: 'delay', ms: 1500 }); // both runs reach the transfer meanwhile
    const [ra, rb] = await Promise.all([a, b].map((site) => world.client.registerImage({ url: image.url, guid: image.guid, site })));
    expect(origin.requestsOf(fs.urlPath)).toBe(1);
    for (const ids of [ra!.ids, rb!.ids]) {
      expect(createHash('sha1').update(await readFile(ids.FILESYSTEM!)).digest('hex')).toBe(fs.sha1);
    }
    expect(createHash('sha1').update(await readFile(join(cacheDirOf(world), fs.sha1))).digest('hex')).toBe(fs.sha1);
  });
});
