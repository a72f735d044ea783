/**
 * The clean-up at a Eucalyptus site end to end: the collectGarbage workflow on a real Temporal dev
 * server, in-process workers of a `eucalyptus` site against moto_server, `imageproxy gc --dry-run`
 * in its own process. An old image nothing uses is deregistered; one with a running instance (moto
 * RunInstances) and a recent one stay; the dry run changes nothing.
 */
import { rm } from 'node:fs/promises';
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../support/eucalyptus-credentials.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { publishSampleImage, type PublishedImage } from '../support/sample-images.js';
import { actionsByGuid, gcCli } from '../support/gc-cli.js';
import { timeBetweenRequests } from '../support/time-between-requests.js';


describe('clean-up at a eucalyptus site (moto_server)', () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let world: World;
  let creds: EucalyptusCredentials;
  let credsDir: string;
  let ec2: EC2Client;
  const site = uniqueName('eucagc');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    credsDir = await newTestDir('euca-creds');
    creds = await writeEucalyptusCredentials(credsDir);
    world = await startWorld({
      sites: { [site]: { type: 'eucalyptus', eucarc: creds.eucarc, ec2Url: moto.url, s3Url: moto.url, region: 'us-east-1', pollIntervalSeconds: 0.1 } },
    });
    ec2 = new EC2Client({ endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey } });
  });
  afterAll(async () => {
    ec2?.destroy();
    await world?.stop();
    await moto?.stop();
    await origin?.stop();
    if (credsDir) await rm(credsDir, { recursive: true, force: true });
  });

  const imageIds = async (): Promise<string[]> =>
    ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).map((i) => i.ImageId!).sort();

  it('deregisters an old unused image, leaves one with a running instance and a recent one; --dry-run changes nothing', async () => {
    const small = (): Promise<PublishedImage> => publishSampleImage(origin, { sizes: { FILESYSTEM: 256 << 10, KERNEL: 32 << 10, RAMDISK: 32 << 10 } });
    const register = (i: PublishedImage) => world.client.registerImage({ url: i.url, guid: i.guid, site });
    const [old, used, fresh] = [await small(), await small(), await small()];
    const oldIds = (await register(old)).ids;
    const usedIds = (await register(used)).ids;
    await ec2.send(new RunInstancesCommand({ ImageId: usedIds.FILESYSTEM!, MinCount: 1, MaxCount: 1 }));
    // An absolute cutoff between the first registrations and the later one (moto keeps seconds).
    const cutoff = await timeBetweenRequests();
    await register(fresh);

    const before = await imageIds();
    const dry = await gcCli(world, site, '--not-requested-since', cutoff, '--dry-run');
    expect(actionsByGuid(dry)).toEqual({ [old.guid]: 'would-deregister', [used.guid]: 'kept-in-use' });
    expect(await imageIds()).toEqual(before);

    const real = await world.client.collectGarbage({ site, notRequestedSince: cutoff });
    expect(actionsByGuid(real)).toEqual({ [old.guid]: 'deregistered', [used.guid]: 'kept-in-use' });
    const after = await imageIds();
    for (const id of Object.values(oldIds)) expect(after).not.toContain(id);
    for (const id of Object.values(usedIds)) expect(after).toContain(id);
    expect((await register(used)).alreadyRegistered).toBe(true);
    expect((await register(fresh)).alreadyRegistered).toBe(true);
    expect((await register(old)).alreadyRegistered).toBe(false); // asked again: registered afresh
  });
});
