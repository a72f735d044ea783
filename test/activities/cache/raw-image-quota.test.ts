/**
 * The raw image unpacked from a ZFILESYSTEM counts against the cache quota with its part: it
 * evicts least recently used unheld files to make room, and when there is none it fails with
 * "insufficient cache space" and leaves no file and no count behind. Real files, real SQLite.
 */
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CacheIndex } from '../../../activities/cache/cache-index.js';
import { CacheSpace } from '../../../activities/cache/cache-space.js';
import { ContentCache } from '../../../activities/cache/content-cache.js';
import { HostCache } from '../../../activities/cache/host-cache.js';
import { NoCacheSpaceError } from '../../../activities/cache/no-cache-space-error.js';
import { makeRawImageOf } from '../../../activities/images/raw-image-of.js';
import { pseudoRandomBytes } from '../../../client/demo/sample-image.js';
import { ErrorType } from '../../../common/errors.js';
import type { CachedPart, ContentHash } from '../../../common/image-types.js';
import { createLogger } from '../../../workers/logger.js';
import { newTestDir } from '../../support/image-proxy-world.js';

const MiB = 1 << 20;
const run = (id: string) => ({ workflowId: `wf-${id}`, runId: `run-${id}` });
/** A raw filesystem as images are: mostly empty blocks, so its gzip part is a few KiB. */
const sparseImage = (bytes: number, seed: number): Buffer => Buffer.concat([pseudoRandomBytes(4096, seed), Buffer.alloc(bytes - 4096)]);

async function world(maxBytes: number) {
  const dataDir = await newTestDir('raw-quota');
  const cache = new ContentCache(join(dataDir, 'cache'));
  await cache.init();
  const space = new CacheSpace({ cache, indexFile: join(dataDir, 'index.sqlite'), maxBytes, spaceWaitMs: 0, logger: createLogger('silent') });
  const rawImageOf = makeRawImageOf({ cache: new HostCache(cache, space), logger: createLogger('silent') });

  /** Download `data` into the cache the way the download activity does (hold, reserve, write, ready). */
  async function put(data: Buffer, holder: { workflowId: string; runId: string }): Promise<{ hash: ContentHash; path: string }> {
    const hash: ContentHash = { algorithm: 'sha1', hex: createHash('sha1').update(data).digest('hex') };
    space.hold(hash, holder, `guid-${hash.hex}`);
    space.reserve(hash, data.length);
    const path = cache.pathOf(hash);
    await writeFile(path, data);
    space.markReady(hash, data.length);
    return { hash, path };
  }
  const files = async () => (await readdir(cache.dir)).filter((f) => f !== '.partial').sort();
  const partials = () => readdir(cache.partialDir);
  return { cache, space, rawImageOf, put, files, partials };
}

describe('raw images and the cache quota', () => {
  it('the raw image counts with its part and evicts the least recently used unheld file to fit', async () => {
    const w = await world(4 * MiB);
    const old = await w.put(pseudoRandomBytes(2 * MiB + MiB / 2, 1), run('old'));
    w.space.release('run-old');
    const raw = sparseImage(2 * MiB, 2);
    const z = await w.put(gzipSync(raw), run('z')); // held by the running registration
    const part: CachedPart = { type: 'ZFILESYSTEM', hash: z.hash, url: 'http://origin/fs.gz', path: z.path, size: raw.length };

    const rawPath = await w.rawImageOf(part);
    expect(rawPath).toBe(w.cache.rawPathOf(z.hash));
    // 2.5 MiB + a few KiB of part + 2 MiB of raw image > 4 MiB: the old file had to go; the raw is counted exactly.
    expect(await w.files()).toEqual([w.cache.nameOf(z.hash), `${w.cache.nameOf(z.hash)}.raw`].sort());
    expect(w.space.index.entry(w.cache.nameOf(old.hash))).toBeUndefined();
    expect(w.space.index.entry(w.cache.nameOf(z.hash))?.companionBytes).toBe(raw.length);
    expect(await w.partials()).toEqual([]);
    w.space.close();
  });

  it('no room for the raw image: "insufficient cache space", no file, nothing counted, the held part kept', async () => {
    const w = await world(3 * MiB);
    const raw = sparseImage(4 * MiB, 3);
    const z = await w.put(gzipSync(raw), run('z'));
    const part: CachedPart = { type: 'ZFILESYSTEM', hash: z.hash, url: 'http://origin/big.gz', path: z.path, size: raw.length };

    const err = await w.rawImageOf(part).then(() => undefined, (e: unknown) => e);
    // The cache layer's plain error; the activity boundary (activities/application-failure-of.ts) makes it the ApplicationFailure.
    expect(err).toBeInstanceOf(NoCacheSpaceError);
    expect((err as NoCacheSpaceError).type).toBe(ErrorType.InsufficientCacheSpace);
    expect((err as NoCacheSpaceError).final).toBe(true);
    expect((err as NoCacheSpaceError).message).toMatch(/^insufficient cache space: need [\d.]+ (B|KiB|MiB), can free 0 B /);
    expect(await w.files()).toEqual([w.cache.nameOf(z.hash)]);
    expect(await w.partials()).toEqual([]);
    expect(w.space.index.entry(w.cache.nameOf(z.hash))).toMatchObject({ state: 'ready', companionBytes: 0 });
    w.space.close();
  });
});

describe('an index made before raw images were counted', () => {
  it('opens with every companion counted 0, and counts them from then on', async () => {
    const file = join(await newTestDir('old-index'), 'index.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE entries (name TEXT PRIMARY KEY, size INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('downloading', 'ready', 'evicting')), use_seq INTEGER NOT NULL,
      last_use_ms INTEGER NOT NULL, transfer_owner TEXT, transfer_until INTEGER)`);
    old.prepare(`INSERT INTO entries VALUES (?, 100, 'ready', 1, 0, NULL, NULL)`).run('a'.repeat(40));
    old.close();

    const index = new CacheIndex(file);
    expect(index.entry('a'.repeat(40))).toMatchObject({ size: 100, companionBytes: 0, state: 'ready' });
    index.reserveCompanion('a'.repeat(40), 50, 1000);
    expect(index.entry('a'.repeat(40))?.companionBytes).toBe(50);
    index.close();
  });
});
