/**
 * distributeImage over three kinds of site at once, each with its own worker and task queue:
 * a `local` site, a Eucalyptus site backed by moto_server, and a site whose worker refuses the
 * origin (a real, non-retryable failure there only).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteTaskQueue } from '../../common/naming.js';
import { writeEucalyptusCredentials } from '../support/eucalyptus-credentials.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { publishSampleImage } from '../support/sample-images.js';

describe('distributeImage to a local, a Eucalyptus (moto) and a failing site', () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let credsDir: string;
  const worlds: World[] = [];
  const [local, euca, refusing] = [uniqueName('dl-local'), uniqueName('dl-euca'), uniqueName('dl-refusing')];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    credsDir = await newTestDir('dl-euca-creds');
    const creds = await writeEucalyptusCredentials(credsDir);
    // Three workers, as on three hosts: each holds only its own site's configuration.
    worlds.push(await startWorld({ sites: { [local]: { type: 'local' } } }));
    worlds.push(
      await startWorld({
        sites: { [euca]: { type: 'eucalyptus', eucarc: creds.eucarc, ec2Url: moto.url, s3Url: moto.url, region: 'us-east-1', pollIntervalSeconds: 0.1 } },
      }),
    );
    worlds.push(await startWorld({ sites: { [refusing]: { type: 'local' } }, http: { allowedHosts: ['images.example.org'] } }));
  });
  afterAll(async () => {
    for (const w of worlds) await w.stop();
    await moto?.stop();
    await origin?.stop();
    if (credsDir) await rm(credsDir, { recursive: true, force: true });
  });

  it('registers at the local and the cloud site and reports the failing one', async () => {
    const image = await publishSampleImage(origin);
    const client = worlds[0]!.client;
    expect(new Set(worlds.flatMap((w) => w.workers.map((x) => x.siteQueue)))).toEqual(
      new Set([local, euca, refusing].map(siteTaskQueue)),
    );

    const result = await client.distributeImage({ url: image.url, guid: image.guid, sites: [local, euca, refusing], coordinatorSite: local });
    expect(result.failed).toEqual([refusing]);
    const [atLocal, atEuca, atRefusing] = result.sites;
    expect(atLocal).toMatchObject({ site: local, ok: true, alreadyRegistered: false });
    expect(atEuca).toMatchObject({ site: euca, ok: true, alreadyRegistered: false });
    const eucaIds = atEuca!.ok ? atEuca!.ids : {};
    for (const key of ['FILESYSTEM', 'KERNEL', 'RAMDISK'] as const) expect(eucaIds[key]).toMatch(/^ami-[0-9a-f]+$/); // moto's ids
    expect(atRefusing!.ok).toBe(false);
    expect(atRefusing!.ok === false && atRefusing!.error).toMatch(/not in http\.allowedHosts/);

    // The cloud really holds it: asked again, the Eucalyptus site answers from its own lookup.
    const again = await client.registerImage({ url: image.url, guid: image.guid, site: euca });
    expect(again).toMatchObject({ alreadyRegistered: true, ids: eucaIds });
  });
});
