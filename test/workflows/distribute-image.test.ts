/**
 * distributeImage over several sites, each with its own worker and task queue, against a real
 * Temporal server, a real HTTP origin and real files. One site is made to fail for real: its
 * worker's config does not allow the origin's host (a non-retryable refusal at that site only).
 * The sites here are `local` ones (their files are easy to inspect); distribute-eucalyptus.test.ts
 * runs a distribution with a moto-backed Eucalyptus site among them.
 */
import { access, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registerWorkflowId } from '../../common/naming.js';
import { CLI, runProcess } from '../support/child-process.js';
import { HttpOrigin } from '../support/http-origin.js';
import { cacheDirOf, newTestDir, startWorld, uniqueName, type World, LOOPBACK_HTTP } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

describe('distributeImage', () => {
  let origin: HttpOrigin;
  let main: World;
  let other: World;
  const [siteA, siteB, siteC] = [uniqueName('dist-a'), uniqueName('dist-b'), uniqueName('dist-c')];
  const worlds: World[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    // Each site has its own worker process state and data dir (as on separate hosts).
    main = await startWorld({ sites: { [siteA]: { type: 'local' } } });
    other = await startWorld({ sites: { [siteB]: { type: 'local' } } });
  });
  afterAll(async () => {
    for (const w of worlds) await w.stop();
    await main?.stop();
    await other?.stop();
    await origin?.stop();
  });

  const idsAt = (world: World, site: string, guid: string) => ({
    FILESYSTEM: join(world.dataDir, 'sites', site, guid, 'FILESYSTEM'),
    KERNEL: join(world.dataDir, 'sites', site, guid, 'KERNEL'),
    RAMDISK: join(world.dataDir, 'sites', site, guid, 'RAMDISK'),
  });

  it('registers at three sites; one failing site leaves the others registered; asking again retries only it', async () => {
    // Site C's worker refuses the origin: a real, non-retryable failure at that site alone.
    const strict = await startWorld({ sites: { [siteC]: { type: 'local' } }, http: { allowedHosts: ['images.example.org'] } });
    worlds.push(strict);
    const image = await publishSampleImage(origin);
    const sites = [siteA, siteB, siteC];

    const first = await main.client.distributeImage({ url: image.url, guid: image.guid, sites, coordinatorSite: siteA });
    expect(first.failed).toEqual([siteC]);
    expect(first.sites[0]).toMatchObject({ site: siteA, ok: true, alreadyRegistered: false, ids: idsAt(main, siteA, image.guid) });
    expect(first.sites[1]).toMatchObject({ site: siteB, ok: true, alreadyRegistered: false, ids: idsAt(other, siteB, image.guid) });
    expect(first.sites[2]).toMatchObject({ site: siteC, ok: false, workflowId: registerWorkflowId(siteC, image.guid) });
    expect(first.sites[2]!.ok === false && first.sites[2]!.error).toMatch(
      new RegExp(`^site ${siteC}: .*host 127.0.0.1 is not in http.allowedHosts`),
    );
    for (const [world, site] of [[main, siteA], [other, siteB]] as const) for (const f of Object.values(idsAt(world, site, image.guid))) expect(await exists(f)).toBe(true);
    expect(await exists(join(strict.dataDir, 'sites', siteC, image.guid))).toBe(false);

    // The operator fixes site C (its worker restarts with a config that allows the origin) and asks again, from the CLI.
    await strict.stop();
    worlds.splice(worlds.indexOf(strict), 1);
    const fixed = await startWorld({ sites: { [siteC]: { type: 'local' } } });
    worlds.push(fixed);
    const configDir = await newTestDir('dist-cli');
    const siteD = uniqueName('dist-d'); // configured, never given the image: drift
    const configFile = join(configDir, 'config.json');
    await writeFile(configFile, JSON.stringify({ sites: { [siteA]: { type: 'local' }, [siteB]: { type: 'local' }, [siteC]: { type: 'local' }, [siteD]: { type: 'local' } }, http: LOOPBACK_HTTP }));
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), IMAGEPROXY_DATA_DIR: configDir };
    const partRequests = (): number[] => image.parts.map((p) => origin.requestsOf(p.urlPath));
    const before = partRequests();

    const again = await runProcess('node', [CLI, '--config', configFile, 'register', '--url', image.url, '--guid', image.guid, '--site', siteA, '--site', siteB, '--site', siteC, '--json'], { env });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as typeof first;
    expect(second.failed).toEqual([]);
    expect(second.sites.map((s) => [s.site, s.ok && s.alreadyRegistered])).toEqual([
      [siteA, true],
      [siteB, true],
      [siteC, false],
    ]);
    expect(second.sites[2]).toMatchObject({ ids: idsAt(fixed, siteC, image.guid) });
    // Only site C downloaded: one more request per part, none for A and B.
    expect(partRequests()).toEqual(before.map((n) => n + 1));

    // Both the CLI and Temporal's own CLI find the runs by the ImageGuid search attribute.
    await expect
      .poll(
        async () => {
          const listed = await runProcess('node', [CLI, '--config', configFile, 'list', '--guid', image.guid, '--json'], { env });
          const runs = JSON.parse(listed.stdout || '[]') as { site: string; status: string; stage: string }[];
          return runs.map((r) => `${r.site} ${r.status} ${r.stage}`).sort();
        },
        { timeout: 15_000 },
      )
      // A and B: the first registration and the second ask (answered from the site's lookup); C: failed, then done.
      .toEqual(
        [`${siteA} COMPLETED done`, `${siteA} COMPLETED done`, `${siteB} COMPLETED done`, `${siteB} COMPLETED done`, `${siteC} COMPLETED done`, `${siteC} FAILED failed`].sort(),
      );
    const temporal = await runProcess(resolve('.venv/bin/temporal'), [
      'workflow', 'list', '--address', inject('temporalAddress'), '--query', `ImageGuid="${image.guid}"`, '--output', 'json',
    ]);
    expect(temporal.code).toBe(0);
    const ids = (JSON.parse(temporal.stdout) as { execution: { workflowId: string } }[]).map((e) => e.execution.workflowId);
    for (const site of sites) expect(ids).toContain(registerWorkflowId(site, image.guid));
    expect(ids.some((id) => id.startsWith(`imageproxy-distribute/${image.guid}/`))).toBe(true);

    // Drift: D lacks the image; after deregistering at B, B lacks it too.
    const missing = async (): Promise<unknown> => {
      const out = await runProcess('node', [CLI, '--config', configFile, 'list', '--missing', '--guid', image.guid, '--json'], { env });
      return JSON.parse(out.stdout || '[]');
    };
    await expect.poll(missing, { timeout: 15_000 }).toEqual([{ guid: image.guid, present: [siteA, siteB, siteC], missing: [siteD] }]);
    const dereg = await runProcess('node', [CLI, '--config', configFile, 'deregister', image.guid, '--site', siteB, '--json'], { env });
    expect(dereg.stderr).toBe('');
    expect(JSON.parse(dereg.stdout)).toEqual({ guid: image.guid, site: siteB, deregistered: true });
    expect(await exists(join(other.dataDir, 'sites', siteB, image.guid))).toBe(false);
    await expect.poll(missing, { timeout: 15_000 }).toEqual([{ guid: image.guid, present: [siteA, siteC], missing: [siteB, siteD] }]);
  });

  it('attaches to a registration someone else started (no second run), and reports a site that does not answer in time', async () => {
    const siteLate = uniqueName('dist-late');
    const siteIdle = uniqueName('dist-idle');
    const late = await startWorld({ sites: { [siteLate]: { type: 'local' }, [siteIdle]: { type: 'local' } }, startWorkers: false });
    worlds.push(late);
    const image = await publishSampleImage(origin);
    // Someone else (a plain client) starts the registration at the late site; no worker serves it yet.
    await late.client.start({ url: image.url, guid: image.guid, site: siteLate });

    const distribution = await main.client.startDistribution({
      url: image.url,
      guid: image.guid,
      sites: [siteA, siteLate, siteIdle],
      coordinatorSite: siteA,
      siteTimeoutMs: 8000,
    });
    // The child start met the running registration: the distribution now waits on it through the attach activity.
    await expect
      .poll(async () => ((await distribution.describe()).raw.pendingActivities ?? []).map((a) => a.activityType?.name), { timeout: 10_000 })
      .toContain('awaitRegistration');
    await late.startWorker(siteLate);

    const result = await distribution.result();
    expect(result.sites[0]).toMatchObject({ site: siteA, ok: true });
    expect(result.sites[1]).toMatchObject({ site: siteLate, ok: true, alreadyRegistered: false, ids: idsAt(late, siteLate, image.guid) });
    expect(result.sites[2]).toMatchObject({ site: siteIdle, ok: false });
    expect(result.sites[2]!.ok === false && result.sites[2]!.error).toMatch(/did not finish within 8000 ms \(its run goes on; ask again to attach\)/);
    expect(result.failed).toEqual([siteIdle]);
    await expect.poll(async () => (await main.client.list({ guid: image.guid, site: siteLate })).length, { timeout: 10_000 }).toBe(1);

    // The idle site's run is still waiting for a worker: the distribution did not cancel it.
    const idle = main.client.temporal.workflow.getHandle(registerWorkflowId(siteIdle, image.guid));
    expect((await idle.describe()).status.name).toBe('RUNNING');
    await idle.terminate('test cleanup');
  });

  it('prefetch fills the cache and registers nothing; the registration afterwards downloads nothing', async () => {
    const image = await publishSampleImage(origin);
    const prefetch = await main.client.distributeImage({ url: image.url, guid: image.guid, sites: [siteA, siteB], coordinatorSite: siteA, mode: 'prefetch' });
    expect(prefetch).toMatchObject({ mode: 'prefetch', failed: [] });
    expect(prefetch.sites.map((s) => s.ok && s.ids)).toEqual([{}, {}]);
    for (const [world, site] of [[main, siteA], [other, siteB]] as const) {
      expect(await exists(join(world.dataDir, 'sites', site, image.guid))).toBe(false);
      const cached = await readdir(cacheDirOf(world));
      for (const part of image.parts) expect(cached).toContain(part.sha1);
    }
    // Registration runs are not confused with prefetches.
    expect(await main.client.getStatus(image.guid, siteA)).toBeUndefined();

    const before = image.parts.map((p) => origin.requestsOf(p.urlPath));
    const registered = await main.client.distributeImage({ url: image.url, guid: image.guid, sites: [siteA, siteB], coordinatorSite: siteA });
    expect(registered.failed).toEqual([]);
    expect(registered.sites[0]).toMatchObject({ ok: true, ids: idsAt(main, siteA, image.guid) });
    expect(registered.sites[1]).toMatchObject({ ok: true, ids: idsAt(other, siteB, image.guid) });
    expect(image.parts.map((p) => origin.requestsOf(p.urlPath))).toEqual(before);
    // The answer says so: every part came from the host cache the prefetch filled.
    const fromCache = Object.fromEntries(image.parts.map((p) => [p.type, 'cache']));
    expect(registered.sites.map((s) => s.ok && s.from)).toEqual([fromCache, fromCache]);
  });
});
