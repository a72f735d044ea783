/**
 * The cloud clean-up at a `local` site, end to end: real Temporal, real workers, the `imageproxy gc`
 * command in its own process, and the Temporal Schedule a worker creates from the config.
 * Images not requested since the cutoff and not in use are deregistered; one in use, one asked for
 * again and a new one stay; `--dry-run` changes nothing.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpScheduleId } from '../../common/naming.js';
import { CLI, runProcess } from '../support/child-process.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage, type PublishedImage } from '../support/sample-images.js';
import { actionsByGuid, gcCli } from '../support/gc-cli.js';
import { timeBetweenRequests } from '../support/time-between-requests.js';

const KiB = 1 << 10;
const DAY_S = 86_400;

describe('clean-up of cloud images', () => {
  let origin: HttpOrigin;
  beforeAll(async () => {
    origin = await new HttpOrigin().start();
  });
  afterAll(async () => {
    await origin?.stop();
  });

  const small = (): Promise<PublishedImage> => publishSampleImage(origin, { sizes: { FILESYSTEM: 64 * KiB, KERNEL: 16 * KiB } });
  const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

  describe('imageproxy gc', () => {
    let world: World;
    const site = uniqueName('gc');
    beforeAll(async () => {
      world = await startWorld({ sites: { [site]: { type: 'local' } } });
    });
    afterAll(async () => {
      await world?.stop();
    });

    const gc = (...args: string[]) => gcCli(world, site, ...args);

    it('deregisters an old unused image, keeps one in use, one requested again and a new one; --dry-run changes nothing', async () => {
      const register = (i: PublishedImage) => world.client.registerImage({ url: i.url, guid: i.guid, site });
      const [old, used, again, fresh] = [await small(), await small(), await small(), await small()];
      for (const i of [old, used, again]) await register(i);
      const siteDir = join(world.dataDir, 'sites', site);
      // Something boots from `used`: it says so the way a local site's consumers do.
      await mkdir(join(siteDir, used.guid, 'in-use'), { recursive: true });
      await runProcess('touch', [join(siteDir, used.guid, 'in-use', 'vm-1')]);

      // The cutoff lies between the first requests and the later ones (an absolute time, so a slow
      // CLI start cannot age the later ones past it); a second apart, as some sites keep seconds.
      const cutoff = await timeBetweenRequests();
      await register(fresh);
      expect((await register(again)).alreadyRegistered).toBe(true); // a request refreshes it

      const dry = await gc('--not-requested-since', cutoff, '--dry-run');
      expect(dry.cutoff).toBe(cutoff);
      expect(dry.dryRun).toBe(true);
      expect(dry.imagesSeen).toBe(4);
      expect(actionsByGuid(dry)).toEqual({ [old.guid]: 'would-deregister', [used.guid]: 'kept-in-use' });
      for (const i of [old, used, again, fresh]) expect(await exists(join(siteDir, i.guid, 'image.json'))).toBe(true);

      const real = await world.client.collectGarbage({ site, notRequestedSince: cutoff });
      expect(actionsByGuid(real)).toEqual({ [old.guid]: 'deregistered', [used.guid]: 'kept-in-use' });
      expect(await exists(join(siteDir, old.guid))).toBe(false);
      for (const i of [used, again, fresh]) expect(await exists(join(siteDir, i.guid, 'image.json'))).toBe(true);
      // What it did is on record in Temporal too.
      const runs = world.client.temporal.workflow.list({ query: `WorkflowType = 'collectGarbage' AND WorkflowId STARTS_WITH 'imageproxy-gc/${site}/'` });
      const memos: unknown[] = [];
      for await (const r of runs) memos.push(r.memo);
      expect(memos).toContainEqual(expect.objectContaining({ dryRun: false, deregistered: [old.guid], keptInUse: [used.guid] }));

      // The deregistered image is registered afresh when asked for again.
      expect((await register(old)).alreadyRegistered).toBe(false);
    });

    it('asks for --older-than-days when the config has no gc section', async () => {
      const out = await runProcess('node', [CLI, 'gc', '--site', site], { env: { TEMPORAL_ADDRESS: world.address, IMAGEPROXY_DATA_DIR: world.dataDir } });
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/gc needs --older-than-days N \(a number > 0\), --not-requested-since TIME or gc.olderThanDays in the config/);
    });
  });

  it('a worker with gc in its config creates the Schedule, which cleans up on its own', async () => {
    const site = uniqueName('gcsched');
    const world = await startWorld({ sites: { [site]: { type: 'local' } }, gc: { olderThanDays: 1 / DAY_S, every: '2s' } });
    const schedule = world.client.temporal.schedule.getHandle(cleanUpScheduleId(site));
    try {
      const description = await schedule.describe();
      expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'collectGarbage', args: [{ site, olderThanDays: 1 / DAY_S, dryRun: false }] });
      expect(description.spec.intervals?.[0]?.every).toBe(2000);

      const image = await small();
      const ids = (await world.client.registerImage({ url: image.url, guid: image.guid, site })).ids;
      await expect.poll(() => exists(ids.FILESYSTEM!), { timeout: 30_000, interval: 500 }).toBe(false);
    } finally {
      await schedule.delete();
      await world.stop();
    }
  });
});
