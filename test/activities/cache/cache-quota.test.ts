/**
 * The cache quota against real parts: a Temporal dev server, in-process workers of a `local` site
 * with `cache.maxBytes` of three images, a real HTTP origin and real files. Eviction follows true
 * last use (a repeated request counts), never takes a file a running registration holds, and
 * answers "insufficient cache space" when everything evictable is held.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheIndex } from '../../../activities/cache/cache-index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCacheFileName } from '../../../activities/cache/reconcile-plan.js';
import { RegistrationFailedError } from '../../../client/image-proxy-client.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { cacheDirOf, startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';
import { publishSampleImage, type PublishedImage } from '../../support/sample-images.js';

const MiB = 1 << 20;

describe('cache quota: true LRU eviction, safe for images in use', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('quota');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' } }, cache: { maxBytes: '3MiB', spaceWaitMs: 2000 } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  const image = (): Promise<PublishedImage> => publishSampleImage(origin, { sizes: { FILESYSTEM: MiB } });
  const register = (i: PublishedImage) => world.client.registerImage({ url: i.url, guid: i.guid, site });
  /** The verified files in the cache, by the SHA-1 they are named after. */
  const cached = async (): Promise<string[]> => (await readdir(cacheDirOf(world))).filter(isCacheFileName).sort();
  const names = (...images: PublishedImage[]): string[] => images.flatMap((i) => i.parts.map((p) => p.sha1)).sort();

  it('evicts exactly the least recently used images; a repeated request refreshes an image', async () => {
    const [a, b, c, d, e] = [await image(), await image(), await image(), await image(), await image()];
    for (const i of [a, b, c]) await register(i);
    expect(await cached()).toEqual(names(a, b, c)); // full: 3 MiB of 3 MiB

    // A is asked for again: the site answers, and A's cached file counts as used now.
    expect((await register(a)).alreadyRegistered).toBe(true);

    await register(d); // B is the least recently used (first-in-first-out would take A)
    expect(await cached()).toEqual(names(a, c, d));
    await register(e); // then C
    expect(await cached()).toEqual(names(a, d, e));
  });

  it('never evicts what a running registration holds; says "insufficient cache space" when all is held', async () => {
    // H: a filesystem that arrives at once and a kernel the origin holds back, so H's run stays open
    // holding its filesystem.
    const h = await publishSampleImage(origin, { sizes: { FILESYSTEM: MiB, KERNEL: 64 << 10 } });
    const hFs = h.parts.find((p) => p.type === 'FILESYSTEM')!;
    const hKernel = h.parts.find((p) => p.type === 'KERNEL')!;
    origin.injectFaults(hKernel.urlPath, { kind: 'delay', ms: 20_000 });
    const hRun = register(h);
    await expect.poll(cached, { timeout: 15_000 }).toContain(hFs.sha1);

    const [f, g, i] = [await image(), await image(), await image()];
    await register(f);
    await register(g);
    // Least recently used now: H's filesystem. H still runs, so F goes instead.
    await register(i);
    expect(await cached()).toContain(hFs.sha1);
    expect(await cached()).not.toContain(f.parts[0]!.sha1);
    expect(await cached()).toEqual([hFs.sha1, ...names(g, i)].sort());

    // 2.5 MiB do not fit while H holds its filesystem: a clear failure, soon, and nothing evicted.
    const big = await publishSampleImage(origin, { sizes: { FILESYSTEM: 2.5 * MiB } });
    const started = Date.now();
    const err = await register(big).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(RegistrationFailedError);
    expect((err as Error).message).toMatch(/insufficient cache space: need 2\.5 MiB, can free 2\.0 MiB/);
    expect(Date.now() - started).toBeLessThan(18_000);
    expect(await cached()).toEqual([hFs.sha1, ...names(g, i)].sort());

    // H ends and releases what it held; the same request now succeeds, evicting LRU-first.
    expect((await hRun).ids.KERNEL).toBeDefined();
    await register(big);
    expect(await cached()).toEqual([hKernel.sha1, ...names(big)].sort());
  });

  it('releases what a run held when it fails or is cancelled', async () => {
    const holdersOf = (runId: string): string[] => {
      const index = new CacheIndex(join(world.dataDir, 'cache-index.sqlite'));
      try {
        return index.holders().filter((h) => h.runId === runId).map((h) => h.runId);
      } finally {
        index.close();
      }
    };

    // Cancelled while its kernel is held back by the origin.
    const p = await publishSampleImage(origin, { sizes: { FILESYSTEM: 256 << 10, KERNEL: 64 << 10 } });
    origin.injectFaults(p.parts.find((x) => x.type === 'KERNEL')!.urlPath, { kind: 'delay', ms: 4000 });
    const cancelled = await world.client.start({ url: p.url, guid: p.guid, site });
    const cancelledRun = (await cancelled.describe()).runId;
    await expect.poll(cached, { timeout: 15_000 }).toContain(p.parts.find((x) => x.type === 'FILESYSTEM')!.sha1);
    expect(holdersOf(cancelledRun)).not.toEqual([]);
    await cancelled.cancel();
    await expect(cancelled.result()).rejects.toThrow();
    expect(holdersOf(cancelledRun)).toEqual([]);

    // Failed: its kernel does not match the metadata.
    const q = await publishSampleImage(origin, {
      sizes: { FILESYSTEM: 256 << 10, KERNEL: 64 << 10 },
      editMetadata: (xml) => xml.replace(/(<type>KERNEL<\/type>\s*<signature>)[0-9a-f]{40}/, `$1${'f'.repeat(40)}`),
    });
    const failed = await world.client.start({ url: q.url, guid: q.guid, site });
    const failedRun = (await failed.describe()).runId;
    await expect(failed.result()).rejects.toThrow();
    expect(holdersOf(failedRun)).toEqual([]);
  });
});
