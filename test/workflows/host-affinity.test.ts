/**
 * A site with two worker hosts, each with its own disk: every run downloads and registers on one
 * host (the per-host task queue), so registration always finds the files its download wrote.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

describe('a site served by two hosts', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('twohosts');
  let hostDirs: string[];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    const siteDir = await newTestDir('shared-site');
    world = await startWorld({ sites: { [site]: { type: 'local', dir: siteDir } }, startWorkers: false });
    hostDirs = [await newTestDir('host-a'), await newTestDir('host-b')];
    await world.startWorker(site, { hostId: 'host-a', dataDir: hostDirs[0]! });
    await world.startWorker(site, { hostId: 'host-b', dataDir: hostDirs[1]! });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('keeps each run on one host', async () => {
    const images = await Promise.all(Array.from({ length: 6 }, () => publishSampleImage(origin, { sizes: { FILESYSTEM: 1 << 20, KERNEL: 64 << 10, RAMDISK: 64 << 10 } })));
    const results = await Promise.all(images.map((image) => world.client.registerImage({ url: image.url, guid: image.guid, site })));
    expect(results.every((r) => r.ids.FILESYSTEM && r.ids.KERNEL && r.ids.RAMDISK)).toBe(true);

    const cached = await Promise.all(hostDirs.map(async (d) => new Set(await readdir(join(d, 'cache')))));
    for (const image of images) {
      const where = cached.map((names) => image.parts.filter((p) => names.has(p.sha1)).length);
      // All three parts on exactly one host, none on the other.
      expect(where.sort()).toEqual([0, 3]);
    }
  });
});
