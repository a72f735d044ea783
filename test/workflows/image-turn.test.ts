/**
 * One operation at a time per (site, GUID), with the real Temporal dev server and real workers:
 * a registration, a deregistration and a provisioning of one image at one site never run against
 * each other; each waits for those asked before it (common/image-turn.ts), says so in its current
 * details and progress, and the site ends in the state the last request asked for.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationRunningError } from '../../client/image-proxy-client.js';
import { runsAhead, type TurnRun } from '../../common/image-turn.js';
import { deregisterWorkflowId, provisionWorkflowId, registerWorkflowId, siteTaskQueue } from '../../common/naming.js';
import { progressQuery } from '../../common/register-contract.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

const SIZES = { FILESYSTEM: 256 << 10, KERNEL: 16 << 10, RAMDISK: 16 << 10 };

describe('one operation at a time per image and site', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('turn');
  const later = uniqueName('turn-later'); // its worker starts when the test says

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' }, [later]: { type: 'local' } }, startWorkers: false });
    await world.startWorker(site);
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  /** Closed-or-not, start and close times, and when each activity type was first scheduled. */
  async function timeline(workflowId: string): Promise<{ closed: number; scheduled: Record<string, number> }> {
    const handle = world.client.temporal.workflow.getHandle(workflowId);
    const history = await handle.fetchHistory();
    const scheduled: Record<string, number> = {};
    let closed = 0;
    for (const e of history.events ?? []) {
      const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
      const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type && scheduled[type] === undefined) scheduled[type] = at;
      if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) closed = at;
    }
    return { closed, scheduled };
  }

  /** The run's current details, as the Temporal UI reads them (the built-in metadata query). */
  async function currentDetails(handle: WorkflowHandle): Promise<string> {
    return (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
  }

  async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const got = await probe().catch(() => undefined);
      if (got !== undefined) return got;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('a provisioning and a deregistration asked while a registration runs wait for it, then run in the order asked', async () => {
    const image = await publishSampleImage(origin, { sizes: SIZES });
    const kernel = image.parts.find((p) => p.type === 'KERNEL')!;
    origin.injectFaults(kernel.urlPath, { kind: 'delay', ms: 8000 }); // the registration stays in its download a while
    const registration = await world.client.start({ url: image.url, guid: image.guid, site });
    await eventually('the download to start', async () => (origin.requestsOf(kernel.urlPath) > 0 ? true : undefined));

    // A provisioning asked now waits for the registration (a local site has no nodes: it fails, after its turn).
    const provisioning = world.client.provisionNodes(image.guid, site, ['cn01']).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const provisionId = provisionWorkflowId(site, image.guid, ['cn01']);
    const provision = world.client.temporal.workflow.getHandle(provisionId);
    await eventually('the provisioning to start', async () => ((await provision.describe()).status.name === 'RUNNING' ? true : undefined));

    // The client refuses a deregistration while the registration runs, with a clear message …
    const refused = await world.client.deregister(image.guid, site).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistrationRunningError);
    expect((refused as Error).message).toBe(`a registration of ${image.guid} at ${site} is running; deregister it once it has finished`);
    // … and a deregistration started anyway (another front, or in the moment between check and start) waits its turn.
    const removal = await world.client.temporal.workflow.start('deregisterImage', {
      args: [{ guid: image.guid, site }],
      workflowId: deregisterWorkflowId(site, image.guid),
      taskQueue: siteTaskQueue(site),
    });

    // Both say what they wait for in their current details (the Temporal UI); the deregistration
    // found the provisioning through visibility.
    const provisionWaits = await eventually('the provisioning to say what it waits for', async () => {
      const details = await currentDetails(provision);
      return details.includes('**Waiting:**') ? details : undefined;
    });
    expect(provisionWaits).toContain(`waiting for the registration ${registerWorkflowId(site, image.guid)} to finish (one operation at a time per image and site)`);
    const removalWaits = await eventually('the deregistration to say what it waits for', async () => {
      const details = await currentDetails(removal);
      return details.includes('**Waiting:**') ? details : undefined;
    });
    expect(removalWaits).toContain(`waiting for the registration ${registerWorkflowId(site, image.guid)}, the provisioning ${provisionId} to finish`);

    const registered = await registration.result();
    expect(registered.alreadyRegistered).toBe(false);
    const provisioned = await provisioning;
    expect(provisioned?.message).toMatch(/has no nodes to provision; only xcat sites do/);
    await removal.result();

    // In the order asked: registration, provisioning, deregistration; none touched the site during another.
    const reg = await timeline(registerWorkflowId(site, image.guid));
    const prov = await timeline(provisionId);
    const dereg = await timeline(deregisterWorkflowId(site, image.guid));
    expect(prov.scheduled.awaitRunsClosed).toBeDefined();
    expect(prov.scheduled.provisionNodes).toBeGreaterThanOrEqual(reg.closed);
    expect(dereg.scheduled.awaitRunsClosed).toBeDefined();
    expect(dereg.scheduled.deregisterImage).toBeGreaterThanOrEqual(prov.closed);

    // The end state is the last request's: the site no longer holds the image.
    expect((await world.client.getStatus(image.guid, site))?.stage).toBe('deregistered');
    expect((await world.client.registerImage({ url: image.url, guid: image.guid, site })).alreadyRegistered).toBe(false);
  }, 180_000);

  it('a registration asked while a deregistration runs waits for it and registers the image again', async () => {
    const image = await publishSampleImage(origin, { sizes: SIZES });
    const first = await world.startWorker(later);
    await world.client.registerImage({ url: image.url, guid: image.guid, site: later });
    await first.shutdown(); // nothing runs until both are asked

    const removal = world.client.deregister(image.guid, later);
    await eventually('the deregistration to start', async () => ((await world.client.temporal.workflow.getHandle(deregisterWorkflowId(later, image.guid)).describe()).status.name === 'RUNNING' ? true : undefined));
    const again = await world.client.start({ url: image.url, guid: image.guid, site: later });
    await world.startWorker(later);

    await removal;
    const result = await again.result();
    // Had they interleaved, the lookup would have found the image about to be removed.
    expect(result.alreadyRegistered).toBe(false);
    const reg = await timeline(registerWorkflowId(later, image.guid));
    const dereg = await timeline(deregisterWorkflowId(later, image.guid));
    expect(reg.scheduled.awaitRunsClosed).toBeDefined(); // it waited (a local deregistration is too quick to catch in the act)
    expect(reg.scheduled.lookupImage).toBeGreaterThanOrEqual(dereg.closed);
    expect((await again.query(progressQuery)).waiting).toBeUndefined(); // said while waiting, cleared once its turn came
    expect((await world.client.getStatus(image.guid, later))?.ids).toEqual(result.ids);
    expect((await world.client.registerImage({ url: image.url, guid: image.guid, site: later })).alreadyRegistered).toBe(true);
  }, 180_000);
});

describe('runsAhead', () => {
  const run = (workflowId: string, startTime: number, runId = `${workflowId}-run`): TurnRun => ({ type: 'registerImage', workflowId, runId, startTime });

  it('waits only for runs asked before, oldest first, never for itself; ties go by workflow id', () => {
    const self = run('imageproxy-deregister/s/g', 100);
    expect(runsAhead(self, [self, run('imageproxy/s/g', 150), run('imageproxy-provision/s/g/a', 50), run('imageproxy/s/g', 20, 'old')])).toEqual([
      run('imageproxy/s/g', 20, 'old'),
      run('imageproxy-provision/s/g/a', 50),
    ]);
    // Same start time: exactly one of the two waits for the other.
    const a = run('imageproxy-deregister/s/g', 7);
    const b = run('imageproxy/s/g', 7);
    expect(runsAhead(a, [b]).length + runsAhead(b, [a]).length).toBe(1);
  });
});
