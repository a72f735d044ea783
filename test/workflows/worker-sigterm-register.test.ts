/**
 * SIGTERM of a real `imageproxy worker` process while the run is in `registerParts` at a `local`
 * site (unpacking a bzip2 ZFILESYSTEM, which takes seconds): the worker stops cleanly, the next
 * worker takes the retried `registerParts`, and the image ends registered exactly once, byte for
 * byte, with no staging directory left behind. The Eucalyptus variant (mid-upload to S3) is in
 * test/activities/sites/eucalyptus/eucalyptus-sigterm.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImageProxyClient } from '../../client/image-proxy-client.js';
import { compress, compressibleImage } from '../support/compressed-images.js';
import { HttpOrigin } from '../support/http-origin.js';
import { LOOPBACK_HTTP, newTestDir, uniqueName } from '../support/image-proxy-world.js';
import { SiteWorkerProcesses } from '../support/site-worker-processes.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');
const MiB = 1 << 20;

describe('SIGTERM of a worker in registerParts at a local site', () => {
  let origin: HttpOrigin;
  let dir: string;
  let client: ImageProxyClient;
  let workers: SiteWorkerProcesses;

  beforeAll(async () => {
    workers = new SiteWorkerProcesses(inject('temporalAddress'));
    origin = await new HttpOrigin().start();
    dir = await newTestDir('local-sigterm');
    client = await ImageProxyClient.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    workers?.killAll();
    await client?.close();
    await origin?.stop();
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  it('the worker exits 0; the next one registers the image once, byte for byte', async () => {
    const site = uniqueName('lterm');
    const hostDir = join(dir, site);
    await mkdir(hostDir, { recursive: true });
    await writeFile(join(hostDir, 'config.json'), JSON.stringify({ sites: { [site]: { type: 'local' } }, http: LOOPBACK_HTTP }));
    // bzip2 is unpacked in JavaScript (unbzip2-stream): 48 MiB takes seconds, time to stop the worker mid-way.
    const raw = compressibleImage(48 * MiB, 4242);
    const content = await compress(raw, 'bzip2');
    const partUrl = origin.addBuffer(`/${site}/filesystem.img`, content);
    const metadata = `<?xml version="1.0"?>\n<images>\n  <image>\n    <type>ZFILESYSTEM</type>\n    <signature>${sha1(content)}</signature>\n    <url>${partUrl}</url>\n  </image>\n</images>\n`;
    const url = origin.addBuffer(`/${site}/image.xml`, metadata);
    const guid = sha1(metadata);

    const first = await workers.start(site, hostDir, ['--shutdown-grace', '1s']);
    const handle = await client.start({ url, guid, site });
    const inRegisterParts = async (): Promise<boolean> => {
      const d = await handle.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'registerParts');
    };
    await expect.poll(inRegisterParts, { timeout: 120_000, interval: 100 }).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // well inside it
    first.kill('SIGTERM');
    const exit = await workers.exitOf(first);
    expect(exit.code, exit.log).toBe(0); // a clean stop, not a crash
    expect((await handle.describe()).status.name).toBe('RUNNING'); // not failed by the shutdown

    await workers.start(site, hostDir);
    const result = await handle.result();
    expect(result.alreadyRegistered).toBe(false);
    expect(sha1(await readFile(result.ids.FILESYSTEM!))).toBe(sha1(raw));

    // registerParts ran again on the next worker and completed once; the part was downloaded once.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'registerParts');
    expect(scheduled).toHaveLength(1);
    const started = events.find((e) => e.activityTaskStartedEventAttributes && Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(scheduled[0]!.eventId));
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.activityTaskCompletedEventAttributes && Number(e.activityTaskCompletedEventAttributes.scheduledEventId) === Number(scheduled[0]!.eventId))).toHaveLength(1);
    expect(origin.requestsOf(`/${site}/filesystem.img`)).toBe(1);

    // Exactly one image at the site, and no staging directory left by the stopped attempt.
    const siteDir = dirname(dirname(result.ids.FILESYSTEM!));
    expect((await readdir(siteDir)).sort()).toEqual([guid]);
    expect((await client.getStatus(guid, site))?.stage).toBe('done');
  }, 300_000);
});
