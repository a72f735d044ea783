/**
 * SIGTERM of an `imageproxy worker` process (a real child process) registering to a Eucalyptus
 * site (moto_server behind a recording, slowed proxy): mid-download the next worker resumes with a
 * range request; mid-upload the next worker skips the bundle parts S3 already holds, so no object
 * S3 received is sent again, and the image ends registered once.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { guidTagKey } from '../../../../activities/sites/eucalyptus/eucalyptus-site.js';
import { ImageProxyClient } from '../../../../client/image-proxy-client.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { LOOPBACK_HTTP, newTestDir, uniqueName } from '../../../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../../../support/moto-server.js';
import { startRecordingProxy, type RecordingProxy } from '../../../support/recording-proxy.js';
import { publishSampleImage } from '../../../support/sample-images.js';
import { SiteWorkerProcesses } from '../../../support/site-worker-processes.js';

const BUCKET = 'imageproxy.bukkit';
const MiB = 1 << 20;

describe('SIGTERM of a worker registering to a eucalyptus site', () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let proxy: RecordingProxy;
  let creds: EucalyptusCredentials;
  let dir: string;
  let client: ImageProxyClient;
  let workers: SiteWorkerProcesses;

  beforeAll(async () => {
    workers = new SiteWorkerProcesses(inject('temporalAddress'));
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    proxy = await startRecordingProxy(moto.url, { bodyBytesPerSecond: 4 * MiB }); // a 10 MiB part takes ~2.5 s
    dir = await newTestDir('euca-sigterm');
    await mkdir(join(dir, 'creds'));
    creds = await writeEucalyptusCredentials(join(dir, 'creds'));
    client = await ImageProxyClient.connect({ address: inject('temporalAddress') });
  }, 60_000);
  afterAll(async () => {
    workers?.killAll();
    await client?.close();
    await proxy?.stop();
    await moto?.stop();
    await origin?.stop();
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  const aws = (): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } } => ({
    region: 'us-east-1',
    endpoint: moto.url,
    credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
  });

  /** A site whose EC2 and S3 endpoints are the recording proxy; one bundle part uploads at a time. */
  async function writeConfig(site: string, hostDir: string): Promise<void> {
    const config = {
      sites: {
        [site]: {
          type: 'eucalyptus',
          eucarc: creds.eucarc,
          ec2Url: proxy.url,
          s3Url: proxy.url,
          region: 'us-east-1',
          pollIntervalSeconds: 0.1,
          partsInFlight: 1,
        },
      },
      http: LOOPBACK_HTTP,
    };
    await mkdir(hostDir, { recursive: true });
    await writeFile(join(hostDir, 'config.json'), JSON.stringify(config));
  }

  /** Object keys of PUTs through the proxy (path-style `/bucket/key`, query dropped), from `from` on. */
  const putKeys = (from = 0): string[] =>
    proxy.requests
      .slice(from)
      .filter((r) => r.startsWith(`PUT /${BUCKET}/`))
      .map((r) => decodeURIComponent(r.slice(`PUT /${BUCKET}/`.length).split('?')[0]!))
      .filter((k) => k !== '');

  const objectsInBucket = async (): Promise<string[]> => {
    const s3 = new S3Client({ ...aws(), forcePathStyle: true });
    try {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      return (page.Contents ?? []).map((o) => o.Key!);
    } finally {
      s3.destroy();
    }
  };

  const imagesTaggedWith = async (guid: string): Promise<string[]> => {
    const ec2 = new EC2Client(aws());
    try {
      const { Images = [] } = await ec2.send(
        new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag-key', Values: [guidTagKey(guid)] }] }),
      );
      return Images.map((i) => i.ImageId!);
    } finally {
      ec2.destroy();
    }
  };

  it('mid-download: the worker exits 0 keeping what it fetched; the next worker resumes with a range request', async () => {
    const site = uniqueName('eterm-dl');
    const hostDir = join(dir, site);
    await writeConfig(site, hostDir);
    const size = 24 * MiB;
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: size } });
    const fs = image.parts[0]!;
    await moto.reset();
    const start = proxy.requests.length;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 2 * MiB }); // the first request only

    const first = await workers.start(site, hostDir, ['--shutdown-grace', '1s']);
    const handle = await client.start({ url: image.url, guid: image.guid, site });
    const partial = join(hostDir, 'data', 'cache', '.partial', fs.sha1);
    const sizeOf = (): Promise<number> => stat(partial).then((s) => s.size, () => 0);
    await expect.poll(sizeOf, { timeout: 90_000, interval: 100 }).toBeGreaterThanOrEqual(4 * MiB);
    first.kill('SIGTERM');
    const exit = await workers.exitOf(first);
    expect(exit.code, exit.log).toBe(0); // a clean stop, not a crash
    const kept = await sizeOf();
    expect(kept).toBeGreaterThanOrEqual(4 * MiB);
    expect(kept).toBeLessThan(size);
    expect(putKeys(start)).toEqual([]); // nothing reached S3 yet

    await workers.start(site, hostDir);
    const result = await handle.result();
    expect(result.ids.FILESYSTEM).toMatch(/^ami-[0-9a-f]+$/);
    const requests = origin.log.filter((l) => l.path === fs.urlPath);
    expect(requests.at(-1)).toMatchObject({ status: 206 });
    expect(Number(/^bytes=(\d+)-$/.exec(requests.at(-1)!.range ?? '')?.[1])).toBeGreaterThanOrEqual(4 * MiB);
    expect(origin.bytesSentOf(fs.urlPath)).toBeLessThan(1.3 * size);
    const keys = putKeys(start);
    expect(new Set(keys).size).toBe(keys.length); // each part and the manifest went up once
    expect(await imagesTaggedWith(image.guid)).toEqual([result.ids.FILESYSTEM]);
  }, 240_000);

  it('mid-upload: the worker exits 0; the next worker sends no object S3 already holds and registers the image once', async () => {
    const site = uniqueName('eterm-up');
    const hostDir = join(dir, site);
    await writeConfig(site, hostDir);
    const size = 40 * MiB; // pseudo-random: about 4 bundle parts of 10 MiB
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: size } });
    const fs = image.parts[0]!;
    await moto.reset(); // this case's bucket holds only this case's objects
    const start = proxy.requests.length;

    const first = await workers.start(site, hostDir, ['--shutdown-grace', '1s']);
    const handle = await client.start({ url: image.url, guid: image.guid, site });
    // With one part in flight, the PUT of part 1 starts only once part 0 is in S3.
    await expect
      .poll(() => putKeys(start).filter((k) => k.includes('.part.')).length, { timeout: 120_000, interval: 50 })
      .toBeGreaterThanOrEqual(2);
    first.kill('SIGTERM');
    const exit = await workers.exitOf(first);
    expect(exit.code, exit.log).toBe(0); // a clean stop, not a crash
    const firstPuts = putKeys(start);
    const seenBySecond = proxy.requests.length;
    const held = await objectsInBucket();
    expect(held.some((k) => k.endsWith('.part.00'))).toBe(true); // not cleaned up because of the shutdown
    expect(held.some((k) => k.endsWith('.manifest.xml'))).toBe(false);

    await workers.start(site, hostDir);
    const result = await handle.result();
    expect(result.ids.FILESYSTEM).toMatch(/^ami-[0-9a-f]+$/);
    const secondPuts = putKeys(seenBySecond);
    // What S3 received before the shutdown is not sent again: only the part cut off mid-body and the rest.
    expect(secondPuts.filter((k) => held.includes(k))).toEqual([]);
    expect(secondPuts.filter((k) => firstPuts.includes(k)).length).toBeLessThanOrEqual(1);
    const all = [...firstPuts, ...secondPuts];
    expect(all.filter((k) => k.endsWith('.manifest.xml'))).toHaveLength(1);
    const parts = (await objectsInBucket()).filter((k) => k.includes('.part.'));
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(parts.every((k) => all.includes(k))).toBe(true);
    // The download was not repeated: the cache kept the verified part.
    expect(origin.requestsOf(fs.urlPath)).toBe(1);
    expect(await imagesTaggedWith(image.guid)).toEqual([result.ids.FILESYSTEM]);
    expect((await client.getStatus(image.guid, site))?.stage).toBe('done');
  }, 240_000);
});
