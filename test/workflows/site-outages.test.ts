/**
 * A site that is down for minutes in the middle of a registration: the S3 and EC2 endpoint of a
 * Eucalyptus site (moto behind a proxy whose port is closed, then opened again) and the xcatd of an
 * xCAT management node (every xCAT command answers "Unable to open socket connection to xcatd
 * daemon", as xCAT's client does). Both registrations run at once; each completes once its site
 * is back, within `retryFor` (default 6 h), and no part the site had already received is sent again.
 *
 * Why a proxy and not a moto restart: moto keeps its state in memory, so a restarted moto would
 * have forgotten the bucket, the parts and the images, and every part would have to go up again.
 * A closed port is what a client sees of an endpoint that is down; the state behind it survives,
 * as a real Eucalyptus's object store does.
 *
 * OUTAGE_MINUTES (default 5, as the acceptance says) shortens the outage while developing.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guidTagKey } from '../../activities/sites/eucalyptus/eucalyptus-site.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../support/eucalyptus-credentials.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { publishSampleImage } from '../support/sample-images.js';
import { XcatManagementNode } from '../support/xcat-management-node.js';
import { publishNetbootSet } from '../support/xcat-sample-images.js';

const OUTAGE_MS = Number(process.env.OUTAGE_MINUTES ?? 5) * 60_000;
const MiB = 1 << 20;
const BUCKET = 'imageproxy.bukkit';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`a site down for ${OUTAGE_MS / 60_000} min in the middle of a registration`, () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let proxy: RecordingProxy;
  let creds: EucalyptusCredentials;
  let mn: XcatManagementNode;
  let world: World;
  const euca = uniqueName('outage-euca');
  const xcat = uniqueName('outage-xcat');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    proxy = await startRecordingProxy(moto.url, { bodyBytesPerSecond: 4 * MiB }); // a 10 MiB bundle part takes ~2.5 s
    const dir = await newTestDir('outage-creds');
    await mkdir(dir, { recursive: true });
    creds = await writeEucalyptusCredentials(dir);
    mn = await new XcatManagementNode().start();
    world = await startWorld({
      sites: {
        [euca]: { type: 'eucalyptus', eucarc: creds.eucarc, ec2Url: proxy.url, s3Url: proxy.url, region: 'us-east-1', pollIntervalSeconds: 0.1, partsInFlight: 1 },
        [xcat]: mn.siteConfig({ uploadBytesPerSecond: 1 * MiB }),
      },
    });
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
    await mn?.stop();
    await proxy?.stop();
    await moto?.stop();
    await origin?.stop();
  });

  /** Object keys of part PUTs in `lines` (path-style `/bucket/key`, query dropped). */
  const partKeys = (lines: string[]): string[] =>
    lines
      .filter((r) => r.startsWith(`PUT /${BUCKET}/`) && r.includes('.part.'))
      .map((r) => decodeURIComponent(r.slice(`PUT /${BUCKET}/`.length).split('?')[0]!));

  /** Poll `status` until the run says it is retrying; answers what it said. */
  async function retryingStatus(guid: string, site: string): Promise<string> {
    for (;;) {
      const retrying = (await world.client.getStatus(guid, site))?.retrying;
      if (retrying) return retrying;
      await sleep(1000);
    }
  }

  it('S3 and xcatd down at once: both registrations complete once their site is back, and no part goes up twice', async () => {
    const eucaImage = await publishSampleImage(origin, { sizes: { FILESYSTEM: 30 * MiB } }); // three bundle parts
    const xcatImage = await publishNetbootSet(origin, { rootSize: 4 * MiB });
    const doneAt = (p: Promise<unknown>): Promise<number> => p.then(() => Date.now());
    const eucaRun = world.client.registerImage({ url: eucaImage.url, guid: eucaImage.guid, site: euca });
    const xcatRun = world.client.registerImage({ url: xcatImage.url, guid: xcatImage.guid, site: xcat });
    const [eucaDone, xcatDone] = [doneAt(eucaRun), doneAt(xcatRun)];

    // Eucalyptus: S3 goes down once it holds the first bundle part and the second is on its way.
    const eucaOutage = (async () => {
      await expect.poll(() => partKeys(proxy.succeeded).length, { timeout: 180_000, interval: 50 }).toBeGreaterThanOrEqual(1);
      await proxy.goDown();
      const downAt = Date.now();
      const before = { requests: proxy.requests.length, held: partKeys(proxy.succeeded) };
      const said = await retryingStatus(eucaImage.guid, euca);
      await sleep(OUTAGE_MS - (Date.now() - downAt));
      const saidLast = (await world.client.getStatus(eucaImage.guid, euca))?.retrying;
      await proxy.comeBack();
      return { ...before, said, saidLast, downFor: Date.now() - downAt, backAt: Date.now() };
    })();

    // xCAT: xcatd goes down while the root archive is being uploaded, so mkdef meets it after the upload.
    const staging = join(mn.installRoot, '.imageproxy', 'staging', xcatImage.guid);
    const xcatOutage = (async () => {
      await expect.poll(() => stat(join(staging, 'rootimg.tar.gz.part')).then(() => true, () => false), { timeout: 180_000, interval: 50 }).toBe(true);
      await mn.failWith('xcatd-down');
      const downAt = Date.now();
      const said = await retryingStatus(xcatImage.guid, xcat);
      await sleep(OUTAGE_MS - (Date.now() - downAt));
      const saidLast = (await world.client.getStatus(xcatImage.guid, xcat))?.retrying;
      await mn.clearFailures();
      return { said, saidLast, downFor: Date.now() - downAt, backAt: Date.now() };
    })();

    const [eucaResult, xcatResult, eucaSeen, xcatSeen] = await Promise.all([eucaRun, xcatRun, eucaOutage, xcatOutage]);
    const seconds = (ms: number): number => Math.round(ms / 100) / 10;
    const figures = {
      s3: { downSeconds: seconds(eucaSeen.downFor), doneSecondsAfterBack: seconds((await eucaDone) - eucaSeen.backAt), statusAtEnd: eucaSeen.saidLast },
      xcatd: { downSeconds: seconds(xcatSeen.downFor), doneSecondsAfterBack: seconds((await xcatDone) - xcatSeen.backAt), statusAtEnd: xcatSeen.saidLast },
      s3PartPuts: partKeys(proxy.requests).length,
      s3PartsAcknowledged: partKeys(proxy.succeeded).length,
    };
    console.log(`outage figures: ${JSON.stringify(figures)}`);
    expect(eucaSeen.said).toMatch(/retrying: registerParts: .*(ECONNREFUSED|connect|socket)/i);
    expect(xcatSeen.said).toMatch(/retrying: registerParts: .*xcatd/i);
    expect(eucaSeen.downFor).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(xcatSeen.downFor).toBeGreaterThanOrEqual(OUTAGE_MS);

    // Eucalyptus: registered once; every part S3 acknowledged was acknowledged once and never sent again.
    expect(eucaResult.ids.FILESYSTEM).toMatch(/^ami-[0-9a-f]+$/);
    const acknowledged = partKeys(proxy.succeeded);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    expect(acknowledged.length).toBeGreaterThanOrEqual(3);
    const sentAfter = partKeys(proxy.requests.slice(eucaSeen.requests));
    expect(sentAfter.filter((k) => eucaSeen.held.includes(k))).toEqual([]);
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.url, credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey } });
    try {
      const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag-key', Values: [guidTagKey(eucaImage.guid)] }] }));
      expect(Images.map((i) => i.ImageId)).toEqual([eucaResult.ids.FILESYSTEM]);
    } finally {
      ec2.destroy();
    }

    // xCAT: the osimage is defined, and sshd's sftp log shows each file's bytes written once in all.
    expect(xcatResult.ids.FILESYSTEM).toBe(`rhels8.6-x86_64-netboot-imageproxy-${xcatImage.guid}`);
    expect(await mn.osimages()).toEqual([xcatResult.ids.FILESYSTEM]);
    const sftpLog = await mn.sftpLog();
    for (const part of xcatImage.parts) {
      const written = [...sftpLog.matchAll(/close "([^"]*)" bytes read \d+ written (\d+)/g)]
        .filter((m) => m[1]!.startsWith(staging) && m[1]!.endsWith('.part'))
        .filter((m) => (part.type === 'ZFILESYSTEM' ? /rootimg/ : part.type === 'KERNEL' ? /kernel|vmlinuz/ : /initrd/).test(m[1]!))
        .reduce((n, m) => n + Number(m[2]), 0);
      expect(written, `${part.type} bytes written over sftp`).toBe(part.size);
    }
  }, OUTAGE_MS + 600_000);
});
