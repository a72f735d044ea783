/** The cache index and space on a real SQLite file and real files (no Temporal needed). */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CacheIndex, InsufficientSpaceError } from '../../../activities/cache/cache-index.js';
import { CacheSpace } from '../../../activities/cache/cache-space.js';
import { ContentCache } from '../../../activities/cache/content-cache.js';
import type { ContentHash } from '../../../common/image-types.js';
import { createLogger } from '../../../workers/logger.js';
import { newTestDir } from '../../support/image-proxy-world.js';

const h = (c: string): ContentHash => ({ algorithm: 'sha1', hex: c.repeat(40) });
const run = (id: string) => ({ workflowId: `wf-${id}`, runId: `run-${id}` });

async function space(maxBytes: number): Promise<{ space: CacheSpace; dir: string; indexFile: string }> {
  const dataDir = await newTestDir('space');
  const dir = join(dataDir, 'cache');
  const cache = new ContentCache(dir);
  await cache.init();
  const indexFile = join(dataDir, 'index.sqlite');
  return { space: new CacheSpace({ cache, indexFile, maxBytes, spaceWaitMs: 0, logger: createLogger('silent') }), dir, indexFile };
}

/** Put a verified file in place the way a download does: hold, reserve, write, mark ready. */
async function put(s: CacheSpace, dir: string, c: string, size: number, holder = run(c)): Promise<void> {
  s.hold(h(c), holder, `guid-${c}`);
  s.reserve(h(c), size);
  await writeFile(join(dir, c.repeat(40)), Buffer.alloc(size));
  s.markReady(h(c), size);
  s.release(holder.runId);
}

describe('CacheSpace', () => {
  it('evicts in order of last use, a touch counts, and a second connection sees the same index', async () => {
    const { space: s, dir, indexFile } = await space(300);
    for (const c of ['a', 'b', 'c']) await put(s, dir, c, 100);
    s.touchImage('guid-a');
    await put(s, dir, 'd', 100);
    expect((await readdir(dir)).filter((f) => f !== '.partial').sort()).toEqual(['a', 'c', 'd'].map((c) => c.repeat(40)));

    const other = new CacheIndex(indexFile); // as another worker process would open it
    expect(other.entries().map((e) => e.name[0])).toEqual(['c', 'a', 'd']);
    other.close();
    s.close();
  });

  it('a held entry stays; the failure says how much is needed and how much could be freed', async () => {
    const { space: s, dir } = await space(300);
    await put(s, dir, 'a', 100);
    s.hold(h('a'), run('x'), 'guid-a'); // a running workflow uses a
    await put(s, dir, 'b', 100);
    await put(s, dir, 'c', 100);
    s.hold(h('e'), run('e'), 'guid-e');
    expect(() => s.reserve(h('e'), 250)).toThrow(InsufficientSpaceError);
    try {
      s.reserve(h('e'), 250);
    } catch (err) {
      expect(err).toMatchObject({ need: 250, canFree: 200, quota: 300 });
    }
    expect(s.index.entries().map((e) => e.name[0]).sort()).toEqual(['a', 'b', 'c', 'e']); // nothing evicted
    s.reserve(h('e'), 150); // fits by evicting b and c, not a
    expect(s.index.entries().map((e) => e.name[0]).sort()).toEqual(['a', 'e']);
    s.close();
  });

  it('reserves in steps when the size is unknown, and aborts the transfer when it cannot', async () => {
    const { space: s } = await space(1600);
    s.hold(h('f'), run('f'), 'guid-f');
    const seen: number[] = [];
    const guard = s.guardTransfer(h('f'), new AbortController().signal, (p) => seen.push(p.bytesDone));
    guard.onProgress({ bytesDone: 150 });
    expect(s.index.entry('f'.repeat(40))?.size).toBe(200); // steps of 1600/16
    guard.onProgress({ bytesDone: 1500 });
    expect(guard.signal.aborted).toBe(false);
    guard.onProgress({ bytesDone: 1700 });
    expect(guard.signal.aborted).toBe(true);
    expect(guard.failure).toBeInstanceOf(InsufficientSpaceError);
    expect(seen).toEqual([150, 1500]);
    const failure = s.noSpaceError(guard.failure!, Date.now());
    expect(failure.message).toMatch(/^insufficient cache space: need 100 B, can free 0 B/);
    expect(failure.final).toBe(true); // spaceWaitMs 0: no waiting
    expect(failure.type).toBe('InsufficientCacheSpace');
    guard.done();
    s.close();
  });
});
