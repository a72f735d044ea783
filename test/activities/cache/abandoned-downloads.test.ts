/**
 * A download its run gave up on leaves nothing: no partial file, no `downloading` row reserving
 * its size. Through registrations (a refused scheme, a body longer than its Content-Length, a
 * cancelled run) and at the cache itself (a run out of retries releasing its holds; a crash found
 * at the next worker start).
 */
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheIndex } from '../../../activities/cache/cache-index.js';
import { CacheSpace } from '../../../activities/cache/cache-space.js';
import { ContentCache } from '../../../activities/cache/content-cache.js';
import { RegistrationFailedError } from '../../../client/image-proxy-client.js';
import { createLogger } from '../../../workers/logger.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { cacheDirOf, newTestDir, startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';
import { publishSampleImage } from '../../support/sample-images.js';

const kernelUrl = /(<type>KERNEL<\/type>[\s\S]*?<url>)[^<]*(<\/url>)/;

describe('abandoned downloads through registrations', () => {
  let origin: HttpOrigin;
  let tooLong: Server;
  let world: World;
  const site = uniqueName('abandon');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    // Announces 10 bytes and sends more, every time.
    tooLong = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789EXTRA-BYTES'));
    });
    await new Promise<void>((r) => tooLong.listen(0, '127.0.0.1', r));
    world = await startWorld({ sites: { [site]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
    tooLong?.close();
  });

  /** The index's rows and the partial files left for the parts of `hashes`. */
  async function leftFor(hashes: string[]): Promise<string[]> {
    const index = new CacheIndex(join(world.dataDir, 'cache-index.sqlite'));
    try {
      const rows = index.entries().filter((e) => hashes.includes(e.name)).map((e) => `row ${e.name} ${e.state} ${e.size}`);
      const partials = (await readdir(join(cacheDirOf(world), '.partial')).catch(() => [] as string[])).filter((f) => hashes.some((h) => f.startsWith(h)));
      return [...rows, ...partials.map((f) => `partial ${f}`)];
    } finally {
      index.close();
    }
  }

  async function failing(url: string, guid: string): Promise<Error> {
    const err = await world.client.registerImage({ url, guid, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistrationFailedError);
    return err as Error;
  }

  it('a part with an unsupported scheme leaves no downloading row', async () => {
    const image = await publishSampleImage(origin, { editMetadata: (xml) => xml.replace(kernelUrl, '$1ftp://127.0.0.1/kernel$2') });
    const err = await failing(image.url, image.guid);
    expect(err.message).toMatch(/ftp/);
    const kernel = image.parts.find((p) => p.type === 'KERNEL')!;
    await expect.poll(() => leftFor([kernel.sha1]), { timeout: 10_000 }).toEqual([]);
  });

  it('a body longer than its Content-Length fails at once (not retried) and leaves nothing', async () => {
    const url = `http://127.0.0.1:${(tooLong.address() as AddressInfo).port}/kernel`;
    let requests = 0;
    tooLong.on('connection', () => requests++);
    const image = await publishSampleImage(origin, { editMetadata: (xml) => xml.replace(kernelUrl, `$1${url}$2`) });
    const err = await failing(image.url, image.guid);
    expect(err.message).toMatch(/sent more than its Content-Length of 10 bytes/);
    expect(requests).toBe(1);
    const kernel = image.parts.find((p) => p.type === 'KERNEL')!;
    await expect.poll(() => leftFor([kernel.sha1]), { timeout: 10_000 }).toEqual([]);
  });

  it('a cancelled registration removes its partial file and its row', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 4 << 20, KERNEL: 1024, RAMDISK: 1024 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 256 << 10 });
    const handle = await world.client.start({ url: image.url, guid: image.guid, site });
    await expect.poll(() => leftFor([fs.sha1]).then((l) => l.some((x) => x.startsWith('partial'))), { timeout: 30_000 }).toBe(true);
    await handle.cancel();
    await handle.result().catch(() => undefined);
    // The small parts finished (verified cache files, kept); the big one leaves nothing.
    await expect.poll(() => leftFor([fs.sha1]), { timeout: 15_000 }).toEqual([]);
  });
});

describe('abandoned downloads at the cache', () => {
  const hash = { algorithm: 'sha1' as const, hex: createHash('sha1').update('abandoned').digest('hex') };
  const holder = { workflowId: 'imageproxy/x/y', runId: 'run-1' };

  async function openCache(dir: string) {
    const cache = new ContentCache(join(dir, 'cache'));
    await cache.init();
    const space = new CacheSpace({ cache, indexFile: join(dir, 'cache-index.sqlite'), maxBytes: 100 << 20, spaceWaitMs: 1000, logger: createLogger('silent') });
    return { cache, space };
  }

  async function halfDownloaded(dir: string) {
    const { cache, space } = await openCache(dir);
    space.hold(hash, holder, 'g'.repeat(40));
    space.index.reserve(cache.nameOf(hash), 50 << 20, 100 << 20);
    await writeFile(cache.partialPathOf(hash), Buffer.alloc(1 << 20));
    await writeFile(cache.resumeStatePathOf(hash), '{}');
    return { cache, space };
  }

  it('a run out of retries releases its holds: the partial file and the 50 MiB reservation go', async () => {
    const dir = await newTestDir('abandoned');
    const { cache, space } = await halfDownloaded(dir);
    // Still held: a retry may resume it.
    expect(await space.discardAbandoned()).toEqual([]);
    expect(space.index.entries().map((e) => [e.state, e.size])).toEqual([['downloading', 50 << 20]]);

    space.release(holder.runId);
    expect(await space.discardAbandoned()).toEqual([hash.hex]);
    expect(space.index.entries()).toEqual([]);
    expect(await readdir(cache.partialDir)).toEqual([]);
    space.close();
  });

  it('a crash leaves one; the next worker start (its sweep of ended runs) removes it', async () => {
    const dir = await newTestDir('abandoned-crash');
    const first = await halfDownloaded(dir);
    first.space.close(); // killed: nobody released anything

    const { cache, space } = await openCache(dir);
    await space.reconcile(); // the run still holds it: kept for its retry
    expect(space.index.entries()).toHaveLength(1);
    await space.releaseEndedRuns(async () => false); // the run has ended
    expect(space.index.entries()).toEqual([]);
    expect(await readdir(cache.partialDir)).toEqual([]);
    space.close();
  });
});
