/**
 * A registration's history does not grow with the time its download takes: progress is read from
 * the download activity's heartbeats (`status`), not signalled to the workflow. A download paced
 * to last several times longer gives the same events (a 24-hour download must stay far below
 * Temporal's 51,200-event limit).
 */
import proto from '@temporalio/proto'; // CommonJS: its namespaces come through the default export
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWorkflowId } from '../../common/naming.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

const PACE = 256 << 10; // bytes per second of the throttled filesystem part

describe('history size of a registration', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('history');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  /** Register an image whose filesystem part takes `bytes / PACE` seconds; its history's event types. */
  async function registerPaced(bytes: number): Promise<{ types: string[]; bytesSeen: number[] }> {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: bytes, KERNEL: 64 << 10, RAMDISK: 64 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: PACE });
    const handle = await world.client.start({ url: image.url, guid: image.guid, site });
    const result = handle.result();
    result.catch(() => undefined); // awaited below
    // Meanwhile `status` shows the bytes in flight, from the heartbeats.
    const bytesSeen: number[] = [];
    let done = false;
    void result.finally(() => (done = true));
    while (!done) {
      const status = await world.client.getStatus(image.guid, site).catch(() => undefined);
      const part = status?.stage === 'download' ? status.progress?.parts.find((p) => p.type === 'FILESYSTEM') : undefined;
      if (part && part.bytesDone > 0 && part.bytesDone < bytes) bytesSeen.push(part.bytesDone);
      await new Promise((r) => setTimeout(r, 300));
    }
    await result;
    const history = await world.client.temporal.workflow.getHandle(registerWorkflowId(site, image.guid)).fetchHistory();
    return { types: (history.events ?? []).map((e) => proto.temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)), bytesSeen };
  }

  it('a download lasting ~16 s has as many events as one lasting ~2 s, and status still shows its bytes', async () => {
    const short = await registerPaced(PACE * 2);
    const long = await registerPaced(PACE * 16);
    const count = (types: string[], pattern: RegExp): number => types.filter((t) => pattern.test(t)).length;
    for (const run of [short, long]) {
      expect(count(run.types, /SIGNALED/)).toBe(0);
      expect(run.types.length).toBeLessThan(1000);
    }
    // Everything but workflow tasks is the same; how activity completions batch into workflow
    // tasks depends on timing, so those may differ by a few.
    const notTasks = (types: string[]): number => types.length - count(types, /WORKFLOW_TASK/);
    expect(notTasks(long.types)).toBe(notTasks(short.types));
    expect(Math.abs(long.types.length - short.types.length)).toBeLessThanOrEqual(6);
    // Progress of the long download was visible, and it grew.
    expect(long.bytesSeen.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...long.bytesSeen)).toBeGreaterThan(Math.min(...long.bytesSeen));
  }, 120_000);
});
