/**
 * What an operator sees in the Temporal web UI, read through the UI server's own HTTP API for real
 * runs: the run's summary and details, each activity's summary, the current details at each stage
 * (ids when done, the reason when failed) and the byte progress of a running download.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { distributeWorkflowId, registerWorkflowId } from '../../common/naming.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';
import { TemporalUiApi } from '../support/temporal-ui-api.js';

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the Temporal UI tells the story of a registration', () => {
  let origin: HttpOrigin;
  let world: World;
  let ui: TemporalUiApi;
  const site = uniqueName('ui');
  const otherSite = uniqueName('ui-b');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' }, [otherSite]: { type: 'local' } } });
    ui = new TemporalUiApi(inject('temporalUiUrl'));
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('summary, details, activity summaries, current details and download progress of a real run', async () => {
    const fsBytes = 3 << 20;
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: fsBytes, KERNEL: 1 << 20, RAMDISK: 1 << 20 } });
    const filesystem = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(filesystem.urlPath, { kind: 'slow', bytesPerSecond: 512 << 10 }); // ~6 s: long enough to watch
    const handle = await world.client.start({ url: image.url, guid: image.guid, site });
    const workflowId = registerWorkflowId(site, image.guid);
    expect(handle.workflowId).toBe(workflowId);

    // Set at start: the list row's summary and the run's Markdown details.
    const started = await ui.describe(workflowId);
    expect(started.summary).toBe(`register image.xml → ${site} · ${image.guid.slice(0, 8)}`);
    expect(Buffer.byteLength(started.summary!)).toBeLessThanOrEqual(200);
    expect(started.details).toContain(image.url);
    expect(started.details).toContain(image.guid);

    // While the slow part downloads: the pending activity carries bytes in its heartbeat, and the
    // current details name the stage and the parts.
    const downloading = await eventually('a pending downloadPart with heartbeat details', async () => {
      const run = await ui.describe(workflowId);
      const pending = run.pendingActivities.find((a) => a.activityType === 'downloadPart' && a.heartbeat !== undefined);
      return pending;
    });
    expect(downloading.heartbeat).toMatchObject({ bytesDone: expect.any(Number), bytesTotal: fsBytes });
    const midway = await ui.currentDetails(workflowId);
    expect(midway).toContain('**Stage:** download');
    expect(midway).toContain(`sha1:${filesystem.sha1}`);

    const result = await handle.result();

    const calls = await ui.activityCalls(workflowId);
    const summaryOf = (type: string): (string | undefined)[] => calls.filter((c) => c.activityType === type).map((c) => c.summary);
    expect(summaryOf('lookupImage')).toEqual([`ask ${site} whether it holds ${image.guid.slice(0, 8)}`]);
    expect(summaryOf('fetchMetadata')).toEqual(['fetch and verify image.xml from 127.0.0.1']);
    expect(summaryOf('downloadPart').sort()).toEqual(['download FILESYSTEM from 127.0.0.1', 'download KERNEL from 127.0.0.1', 'download RAMDISK from 127.0.0.1']);
    expect(summaryOf('registerParts')).toEqual([`register 3 parts (FILESYSTEM, KERNEL, RAMDISK, 5.0 MiB) at ${site}`]);
    expect(calls.every((c) => c.summary)).toBe(true);

    const done = await ui.currentDetails(workflowId);
    expect(done).toContain('**Stage:** done · parts in the cache: 3 of 3');
    expect(done).toContain(`- FILESYSTEM: \`${result.ids.FILESYSTEM}\``);
    // Where the host took it: a lone host, a new image, so the origin.
    expect(done).toContain(`- **FILESYSTEM** · 3.0 MiB from the origin · sha1:${filesystem.sha1}`);
  });

  it('a failed run says why in its current details', async () => {
    const image = await publishSampleImage(origin);
    const kernel = image.parts.find((p) => p.type === 'KERNEL')!;
    origin.injectFaults(kernel.urlPath, { kind: 'status', status: 404 });
    await expect(world.client.registerImage({ url: image.url, guid: image.guid, site })).rejects.toThrow(/404/);
    const details = await ui.currentDetails(registerWorkflowId(site, image.guid));
    expect(details).toContain('**Stage:** failed');
    expect(details).toMatch(/\*\*Failed:\*\* .*404/);
    expect(details).toContain(kernel.urlPath);
  });

  it('a distribution and the per-site runs it starts as children carry summaries; its current details hold each site', async () => {
    const image = await publishSampleImage(origin);
    const result = await world.client.distributeImage({ url: image.url, guid: image.guid, sites: [site, otherSite], coordinatorSite: site });
    expect(result.failed).toEqual([]);
    const short = image.guid.slice(0, 8);
    const distribution = await ui.describe(distributeWorkflowId(image.guid, [site, otherSite]));
    expect(distribution.summary).toBe(`register image.xml → ${site}, ${otherSite} · ${short}`);
    for (const s of [site, otherSite]) {
      const child = await ui.describe(registerWorkflowId(s, image.guid));
      expect(child.summary).toBe(`register image.xml → ${s} · ${short}`);
      expect(child.details).toContain(image.guid);
    }
    const details = await ui.currentDetails(distributeWorkflowId(image.guid, [site, otherSite]));
    expect(details).toContain('**2 of 2 sites finished**');

    // The workflow list has no column for a run's own summary; the ImageSummary column shows it.
    const rows = await eventually('three rows in the workflow list', async () => {
      const found = await ui.listRows(`ImageGuid="${image.guid}"`);
      return found.length === 3 ? found : undefined;
    });
    const summaryColumn = Object.fromEntries(rows.map((r) => [r.workflowId, r.searchAttributes.ImageSummary]));
    expect(summaryColumn).toEqual({
      [distributeWorkflowId(image.guid, [site, otherSite])]: `register image.xml → ${site}, ${otherSite} · ${short}`,
      [registerWorkflowId(site, image.guid)]: `register image.xml → ${site} · ${short}`,
      [registerWorkflowId(otherSite, image.guid)]: `register image.xml → ${otherSite} · ${short}`,
    });
    const ours = result.sites.find((o) => o.site === site);
    if (!ours?.ok) throw new Error(`site ${site} failed: ${JSON.stringify(ours)}`);
    expect(details).toContain(`- **${site}**: done: FILESYSTEM=\`${ours.ids.FILESYSTEM}\``);
  });
});
