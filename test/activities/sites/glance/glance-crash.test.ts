/**
 * SIGKILL of the worker in the middle of an upload to Glance: the retried registration, on the
 * restarted worker, ends with exactly one image per part type, all active, none left `queued`.
 * A slowing proxy between worker and Glance makes the kill land mid-body; the worker is a real
 * `imageproxy worker` process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGlanceServer, type GlanceServer } from '../../../support/glance-server.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World, LOOPBACK_HTTP } from '../../../support/image-proxy-world.js';
import { startRecordingProxy, type RecordingProxy } from '../../../support/recording-proxy.js';
import { publishSampleImage } from '../../../support/sample-images.js';
import { glanceReader } from './glance-fixture.js';

describe('glance upload after a worker crash', () => {
  let origin: HttpOrigin;
  let glance: GlanceServer;
  let proxy: RecordingProxy;
  let world: World;
  let dir: string;
  let configPath: string;
  const site = uniqueName('glance-crash');
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await newTestDir('glance-crash');
    origin = await new HttpOrigin().start();
    glance = await startGlanceServer(join(dir, 'glance'));
    proxy = await startRecordingProxy(glance.url, { bodyBytesPerSecond: 512 * 1024 });
    const sites = { [site]: { type: 'glance', noAuth: true, imageUrl: proxy.url, pollIntervalSeconds: 0.2, registrationTimeoutSeconds: 120 } };
    world = await startWorld({ sites, startWorkers: false });
    configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ sites, http: LOOPBACK_HTTP }));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await world?.stop();
    await proxy?.stop();
    await glance?.stop();
    await origin?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const startWorker = (): ChildProcess => {
    const child = spawn(process.execPath, ['bin/imageproxy.js', 'worker', '--site', site], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        IMAGEPROXY_DATA_DIR: join(dir, 'worker-data'),
        IMAGEPROXY_CONFIG: configPath,
        IMAGEPROXY_HOST_ID: 'glance-crash-host',
        IMAGEPROXY_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => void appendFile(join(dir, 'worker.log'), d));
    children.push(child);
    return child;
  };

  it('ends with exactly one active image per type, none queued', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 4 << 20, KERNEL: 1 << 19, RAMDISK: 1 << 19 } });
    const reader = glanceReader(glance.url);
    const first = startWorker();
    const result = world.client.registerImage({ url: image.url, guid: image.guid, site });

    // Kill the worker outright while Glance is receiving the machine image's data.
    let seen: string | undefined;
    for (const deadline = Date.now() + 90_000; Date.now() < deadline && !seen; await new Promise((r) => setTimeout(r, 100))) {
      seen = (await reader.images()).find((i) => i.disk_format === 'raw' && i.status === 'saving')?.id;
    }
    expect(seen, `no upload seen; worker log:\n${await readFile(join(dir, 'worker.log'), 'utf8').catch(() => '')}`).toBeDefined();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const afterKill = (await reader.images()).map((i) => `${i.disk_format} ${i.status}`).sort();
    expect(afterKill).not.toContain('raw active');

    startWorker(); // same host id: the retried activity comes to it once the heartbeat times out
    const done = await result;
    const images = await reader.images();
    expect(images.map((i) => `${i.disk_format} ${i.status}`).sort()).toEqual(['aki active', 'ari active', 'raw active']);
    expect(new Set(images.map((i) => i.id))).toEqual(new Set([done.ids.FILESYSTEM, done.ids.KERNEL, done.ids.RAMDISK]));
    // The interrupted image was adopted or replaced, never kept beside a second one.
    expect(images.find((i) => i.disk_format === 'raw')!.kernel_id).toBe(done.ids.KERNEL);
  });
});
