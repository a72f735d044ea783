/**
 * distributeImage to a `local`, a `eucalyptus` (moto_server) and a `glance` (real glance-api) site
 * in one call, each with its own worker and task queue, as on three hosts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteTaskQueue } from '../../common/naming.js';
import { writeEucalyptusCredentials } from '../support/eucalyptus-credentials.js';
import { startGlanceServer, type GlanceServer } from '../support/glance-server.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { publishSampleImage } from '../support/sample-images.js';
import { glanceReader } from '../activities/sites/glance/glance-fixture.js';

describe('distributeImage to a local, a Eucalyptus (moto) and a Glance site', () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let glance: GlanceServer;
  let dir: string;
  const worlds: World[] = [];
  const [local, euca, openstack] = [uniqueName('dg-local'), uniqueName('dg-euca'), uniqueName('dg-glance')];

  beforeAll(async () => {
    dir = await newTestDir('dg');
    origin = await new HttpOrigin().start();
    [moto, glance] = await Promise.all([startMotoServer(), startGlanceServer(join(dir, 'glance'))]);
    const creds = await writeEucalyptusCredentials(dir);
    worlds.push(await startWorld({ sites: { [local]: { type: 'local' } } }));
    worlds.push(
      await startWorld({
        sites: { [euca]: { type: 'eucalyptus', eucarc: creds.eucarc, ec2Url: moto.url, s3Url: moto.url, region: 'us-east-1', pollIntervalSeconds: 0.1 } },
      }),
    );
    worlds.push(await startWorld({ sites: { [openstack]: { type: 'glance', noAuth: true, imageUrl: glance.url, pollIntervalSeconds: 0.2 } } }));
  });
  afterAll(async () => {
    for (const w of worlds) await w.stop();
    await glance?.stop();
    await moto?.stop();
    await origin?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers at all three; the Glance images are active, linked and tagged', async () => {
    const image = await publishSampleImage(origin);
    const client = worlds[0]!.client;
    expect(new Set(worlds.flatMap((w) => w.workers.map((x) => x.siteQueue)))).toEqual(new Set([local, euca, openstack].map(siteTaskQueue)));

    const result = await client.distributeImage({ url: image.url, guid: image.guid, sites: [local, euca, openstack], coordinatorSite: local });
    expect(result.failed).toEqual([]);
    const [atLocal, atEuca, atGlance] = result.sites;
    expect(atLocal).toMatchObject({ site: local, ok: true, alreadyRegistered: false });
    expect(atEuca).toMatchObject({ site: euca, ok: true, alreadyRegistered: false });
    expect(atGlance).toMatchObject({ site: openstack, ok: true, alreadyRegistered: false });
    const ids = atGlance!.ok ? atGlance!.ids : {};
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const key of ['FILESYSTEM', 'KERNEL', 'RAMDISK'] as const) expect(ids[key]).toMatch(uuid);

    const reader = glanceReader(glance.url);
    const machine = (await reader.image(ids.FILESYSTEM!))!;
    expect(machine).toMatchObject({ status: 'active', kernel_id: ids.KERNEL, ramdisk_id: ids.RAMDISK });
    expect(machine.tags).toContain(`imageproxy:guid:${image.guid}`);

    // Glance holds it: asked again, the site answers from its own lookup.
    const again = await client.registerImage({ url: image.url, guid: image.guid, site: openstack });
    expect(again).toMatchObject({ alreadyRegistered: true, ids });
  });
});
