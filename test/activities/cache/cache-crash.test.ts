/**
 * Crash consistency of the cache: a real worker process (`imageproxy worker`) is killed with
 * SIGKILL during a download and during an eviction, and started again. The index and the files
 * must agree on restart (no orphan, no entry without its file, nothing half-evicted, nothing
 * half-written under a final name), and the interrupted request must still succeed.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { CacheIndex } from '../../../activities/cache/cache-index.js';
import { entryNameOf, isCacheFileName } from '../../../activities/cache/reconcile-plan.js';
import { ImageProxyClient } from '../../../client/image-proxy-client.js';
import { CLI, startProcess, type Running } from '../../support/child-process.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { newTestDir, uniqueName, LOOPBACK_HTTP } from '../../support/image-proxy-world.js';
import { publishSampleImage, type PublishedImage } from '../../support/sample-images.js';

const PAUSING_WORKER = resolve('test/support/worker-with-eviction-pause.ts');

const MiB = 1 << 20;

interface Installation {
  site: string;
  dataDir: string;
  client: ImageProxyClient;
  /** A worker process; `evictionPauseMs`: one that blocks mid-eviction (test/support/worker-with-eviction-pause.ts). */
  startWorker(opts?: { evictionPauseMs?: number }): Promise<Running>;
}

/** Everything on which the index and the disk disagree; empty when they agree. */
async function disagreements(dataDir: string): Promise<string[]> {
  const cacheDir = join(dataDir, 'cache');
  const index = new CacheIndex(join(dataDir, 'cache-index.sqlite'));
  try {
    const entries = new Map(index.entries().map((e) => [e.name, e]));
    const problems: string[] = [];
    for (const e of entries.values()) {
      if (e.state === 'evicting') problems.push(`${e.name} is still being evicted`);
      if (e.state === 'ready') {
        const size = await stat(join(cacheDir, e.name)).then((s) => s.size, () => -1);
        if (size !== e.size) problems.push(`${e.name} is ready in the index but its file has ${size} bytes, not ${e.size}`);
      }
    }
    for (const f of (await readdir(cacheDir)).filter(isCacheFileName)) {
      if (entries.get(entryNameOf(f))?.state !== 'ready') problems.push(`${f} is on disk but not a ready entry`);
    }
    for (const f of (await readdir(join(cacheDir, '.partial'))).filter(isCacheFileName)) {
      if (entries.get(entryNameOf(f))?.state !== 'downloading') problems.push(`.partial/${f} belongs to no download`);
    }
    return problems;
  } finally {
    index.close();
  }
}

describe('cache after kill -9 of a worker', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function install(): Promise<Installation> {
    const site = uniqueName('crash');
    const dataDir = await newTestDir('crash');
    const configFile = join(dataDir, 'config.json');
    await writeFile(configFile, JSON.stringify({ sites: { [site]: { type: 'local' } }, cache: { maxBytes: '3MiB' }, http: LOOPBACK_HTTP }));
    const address = inject('temporalAddress');
    const client = await ImageProxyClient.connect({ address, namespace: 'default' });
    cleanups.push(() => client.close());
    return {
      site,
      dataDir,
      client,
      async startWorker({ evictionPauseMs } = {}) {
        const args = evictionPauseMs
          ? ['--import', 'tsx', PAUSING_WORKER, '--site', site, '--pause-ms', String(evictionPauseMs)]
          : [CLI, 'worker', '--site', site];
        const worker = startProcess('node', args, {
          env: {
            TEMPORAL_ADDRESS: address,
            IMAGEPROXY_DATA_DIR: dataDir,
            IMAGEPROXY_CONFIG: configFile,
            IMAGEPROXY_HOST_ID: 'crash-host',
            IMAGEPROXY_LOG_LEVEL: 'info',
          },
        });
        cleanups.push(() => worker.stop('SIGKILL'));
        await worker.waitFor(/serving sites/, 90_000);
        return worker;
      },
    };
  }

  async function startOrigin(): Promise<HttpOrigin> {
    const origin = await new HttpOrigin().start();
    cleanups.push(() => origin.stop());
    return origin;
  }

  const cachedFiles = async (dataDir: string): Promise<string[]> => (await readdir(join(dataDir, 'cache'))).filter(isCacheFileName).sort();
  const names = (...images: PublishedImage[]): string[] => images.flatMap((i) => i.parts.map((p) => p.sha1)).sort();

  it('during a download: restart agrees with the disk, and the request completes', async () => {
    const ip = await install();
    const origin = await startOrigin();
    const x = await publishSampleImage(origin, { sizes: { FILESYSTEM: 2 * MiB } });
    // The first transfer breaks after 1 MiB; its retry hangs before the body: the worker is killed there.
    origin.injectFaults(x.parts[0]!.urlPath, { kind: 'drop', afterBytes: MiB }, { kind: 'delay', ms: 60_000 });
    let worker = await ip.startWorker();
    const run = ip.client.registerImage({ url: x.url, guid: x.guid, site: ip.site });
    run.catch(() => undefined); // awaited below; a failed assertion before must not leave it unhandled
    await expect.poll(() => origin.requestsOf(x.parts[0]!.urlPath), { timeout: 30_000 }).toBe(2);
    const partial = join(ip.dataDir, 'cache', '.partial', x.parts[0]!.sha1);
    await expect.poll(() => stat(partial).then(() => true, () => false), { timeout: 10_000 }).toBe(true);

    await worker.stop('SIGKILL');
    worker = await ip.startWorker();
    expect(await disagreements(ip.dataDir)).toEqual([]);

    const result = await run; // the activity times out on the dead worker and resumes on the new one
    expect(result.ids.FILESYSTEM).toBeDefined();
    expect(await cachedFiles(ip.dataDir)).toEqual(names(x));
    expect(await disagreements(ip.dataDir)).toEqual([]);
    await worker.stop();
  });

  it('during an eviction: the half-done eviction is finished on restart, and the request completes', async () => {
    const ip = await install();
    const origin = await startOrigin();
    const image = (): Promise<PublishedImage> => publishSampleImage(origin, { sizes: { FILESYSTEM: MiB } });
    const [a, b, c, d, e] = [await image(), await image(), await image(), await image(), await image()];

    // A worker that blocks right after removing the first evicted file.
    let worker = await ip.startWorker({ evictionPauseMs: 60_000 });
    for (const i of [a, b, c]) await ip.client.registerImage({ url: i.url, guid: i.guid, site: ip.site });
    expect(await cachedFiles(ip.dataDir)).toEqual(names(a, b, c));

    const run = ip.client.registerImage({ url: d.url, guid: d.guid, site: ip.site }); // evicts A
    run.catch(() => undefined); // awaited below
    await worker.waitFor(/eviction paused/, 30_000);
    expect(await cachedFiles(ip.dataDir)).toEqual(names(b, c)); // A's file is gone, its entry is not yet
    expect(await disagreements(ip.dataDir)).not.toEqual([]);

    await worker.stop('SIGKILL');
    worker = await ip.startWorker();
    expect(await disagreements(ip.dataDir)).toEqual([]);

    expect((await run).ids.FILESYSTEM).toBeDefined();
    expect(await cachedFiles(ip.dataDir)).toEqual(names(b, c, d));
    // And the next request, which needs another eviction, succeeds too.
    await ip.client.registerImage({ url: e.url, guid: e.guid, site: ip.site });
    expect(await cachedFiles(ip.dataDir)).toEqual(names(c, d, e));
    expect(await disagreements(ip.dataDir)).toEqual([]);
    await worker.stop();
  });
});
