/**
 * Downloads that survive faults, through the whole workflow: dropped connections, a worker killed
 * with SIGKILL mid-transfer (a real child process), and a corrupted byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImageProxyClient, RegistrationFailedError } from '../../client/image-proxy-client.js';
import { HttpOrigin } from '../support/http-origin.js';
import { cacheDirOf, newTestDir, startWorld, uniqueName, type World, LOOPBACK_HTTP } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

const sha1 = async (file: string): Promise<string> => createHash('sha1').update(await readFile(file)).digest('hex');

describe('resumable downloads', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('resume');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('the origin drops the connection mid-body three times: the download resumes each time and verifies', async () => {
    const size = 4 << 20;
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: size, KERNEL: 64 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'drop', afterBytes: 1 << 20 });
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);

    const requests = origin.log.filter((l) => l.path === fs.urlPath);
    expect(requests.map((r) => r.status)).toEqual([200, 206, 206, 206]);
    expect(requests.slice(1).every((r) => /^bytes=\d+-$/.test(r.range ?? ''))).toBe(true);
    // Each drop loses at most what was in flight, not what reached the disk.
    expect(origin.bytesSentOf(fs.urlPath)).toBeLessThan(1.3 * size);
    expect(await readdir(join(cacheDirOf(world), '.partial'))).toEqual([]);
  });

  it('a corrupted byte: hash mismatch, not retried, nothing left in the cache', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 1 << 20 } });
    const fs = image.parts[0]!;
    const corrupted = await readFile(fs.path);
    corrupted.writeUInt8(corrupted.readUInt8(123_456) ^ 0x01, 123_456);
    origin.addBuffer(fs.urlPath, corrupted);
    const err = await world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(RegistrationFailedError);
    expect(err!.message).toMatch(new RegExp(`FILESYSTEM part ${origin.baseUrl}${fs.urlPath}: sha1 of the 1048576 bytes received is [0-9a-f]{40}, the metadata says ${fs.sha1}`));
    expect(origin.requestsOf(fs.urlPath)).toBe(1);
    const cache = await readdir(cacheDirOf(world));
    expect(cache.filter((f) => f.startsWith(fs.sha1))).toEqual([]);
    expect(await readdir(join(cacheDirOf(world), '.partial'))).toEqual([]);
  });
});

describe('a worker killed mid-download', () => {
  let origin: HttpOrigin;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    dir = await newTestDir('sigkill');
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await origin?.stop();
    if (!process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  /** `imageproxy worker` in a child process, as it runs in production; resolves once it serves. */
  async function startWorkerProcess(site: string, extraArgs: string[] = []): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['bin/imageproxy.js', 'worker', '--site', site, ...extraArgs], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        IMAGEPROXY_DATA_DIR: join(dir, 'data'),
        IMAGEPROXY_CONFIG: join(dir, 'config.json'),
        IMAGEPROXY_HOST_ID: 'killed-host',
        IMAGEPROXY_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('serving sites')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before serving:\n${log}`)));
    });
    return child;
  }

  it('SIGKILL in the middle of a transfer: a new worker resumes it; the origin sends < 1.3x the size', async () => {
    const site = uniqueName('kill');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ sites: { [site]: { type: 'local' } }, http: LOOPBACK_HTTP }));
    const size = 8 << 20;
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: size, KERNEL: 64 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 1 << 20 }); // about 8 s, the first time only

    const first = await startWorkerProcess(site);
    const client = await ImageProxyClient.connect({ address: inject('temporalAddress') });
    try {
      const handle = await client.start({ url: image.url, guid: image.guid, site });
      const partial = join(dir, 'data', 'cache', '.partial', fs.sha1);
      const sizeOf = (): Promise<number> => stat(partial).then((s) => s.size, () => 0);
      await expect.poll(sizeOf, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(3 << 20);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const kept = await sizeOf();
      expect(kept).toBeLessThan(size);

      await startWorkerProcess(site); // same host id: same queue, same cache
      const result = await handle.result();
      expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);

      const requests = origin.log.filter((l) => l.path === fs.urlPath);
      expect(requests.at(-1)).toMatchObject({ status: 206, range: `bytes=${kept}-` });
      expect(origin.bytesSentOf(fs.urlPath)).toBeLessThan(1.3 * size);
      const status = await client.getStatus(image.guid, site);
      expect(status?.stage).toBe('done');
    } finally {
      await client.close();
      for (const c of children) c.kill('SIGTERM');
    }
  }, 180_000);

  it('SIGTERM in the middle of a transfer: the worker stops within its grace time, keeps what it fetched, and the next worker resumes', async () => {
    const site = uniqueName('term');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ sites: { [site]: { type: 'local' } }, http: LOOPBACK_HTTP }));
    const size = 8 << 20;
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: size, KERNEL: 64 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 1 << 20 }); // about 8 s, the first time only

    const first = await startWorkerProcess(site, ['--shutdown-grace', '1s']);
    const client = await ImageProxyClient.connect({ address: inject('temporalAddress') });
    try {
      const handle = await client.start({ url: image.url, guid: image.guid, site });
      const partial = join(dir, 'data', 'cache', '.partial', fs.sha1);
      const sizeOf = (): Promise<number> => stat(partial).then((s) => s.size, () => 0);
      await expect.poll(sizeOf, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(3 << 20);
      first.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => first.once('exit', (c) => r(c)));
      expect(code).toBe(0); // a clean stop, not a crash
      const kept = await sizeOf();
      expect(kept).toBeGreaterThanOrEqual(3 << 20); // not cleaned up because of the shutdown
      expect(kept).toBeLessThan(size);

      await startWorkerProcess(site);
      const result = await handle.result();
      expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);
      const requests = origin.log.filter((l) => l.path === fs.urlPath);
      expect(requests.at(-1)).toMatchObject({ status: 206 });
      expect(Number(/^bytes=(\d+)-$/.exec(requests.at(-1)!.range ?? '')?.[1])).toBeGreaterThanOrEqual(3 << 20);
      expect(origin.bytesSentOf(fs.urlPath)).toBeLessThan(1.3 * size);
    } finally {
      await client.close();
      for (const c of children) c.kill('SIGTERM');
    }
  }, 180_000);
});
