/**
 * The whole path on a Eucalyptus site: the registerImage workflow on a real Temporal dev server,
 * in-process workers configured with an issued eucarc, a real HTTP origin, and moto_server as the
 * cloud. The site's credentials must appear nowhere in the workflow's history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWorkflowId } from '../../common/naming.js';
import { expectNoSecrets } from '../support/credential-leak-scan.js';
import { HttpOrigin } from '../support/http-origin.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../support/eucalyptus-credentials.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { publishSampleImage } from '../support/sample-images.js';
import { readFile, rm } from 'node:fs/promises';

describe('registerImage on a eucalyptus site (moto_server)', () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let world: World;
  let creds: EucalyptusCredentials;
  let credsDir: string;
  const site = uniqueName('euca');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    credsDir = await newTestDir('euca-creds');
    creds = await writeEucalyptusCredentials(credsDir);
    world = await startWorld({
      sites: {
        [site]: {
          type: 'eucalyptus',
          eucarc: creds.eucarc,
          ec2Url: moto.url,
          s3Url: moto.url,
          region: 'us-east-1',
          pollIntervalSeconds: 0.1,
        },
      },
    });
  });
  afterAll(async () => {
    await world?.stop();
    await moto?.stop();
    await origin?.stop();
    if (credsDir) await rm(credsDir, { recursive: true, force: true });
  });

  it('registers the image once, answers it again from the cloud, and keeps credentials out of history', async () => {
    const image = await publishSampleImage(origin);
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(result.alreadyRegistered).toBe(false);
    expect(Object.keys(result.ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
    for (const id of Object.values(result.ids)) expect(id).toMatch(/^ami-[0-9a-f]+$/); // moto's ids; Eucalyptus answers emi-/eki-/eri-
    expect(new Set(Object.values(result.ids)).size).toBe(3);

    const again = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(again.alreadyRegistered).toBe(true);
    expect(again.ids).toEqual(result.ids);

    const userKey = await readFile(creds.userKey, 'utf8');
    await expectNoSecrets(world, [registerWorkflowId(site, image.guid)], {
      'EC2_SECRET_KEY': creds.secretKey,
      'EC2_ACCESS_KEY': creds.accessKey,
      'the user private key': userKey.split('\n')[1]!,
    }, 2); // both runs: the registration and the answer from the cloud
  });
});
