/**
 * Chaos: SIGKILL of the worker process, of the Temporal server, or of both, at random points of
 * registrations at a `local` and a `eucalyptus` site (moto behind a recording proxy). Each run must
 * end registered exactly once (one image per GUID at the site; for Eucalyptus exactly the bundle's
 * objects in S3 and nothing else) with no partial file, `downloading` row or scratch left on the
 * host. The server restarts on its port with its SQLite file, so runs survive it.
 *
 * CHAOS_RUNS registrations (default 10; 100 for the long run), two at a time (one per site), one
 * or two kills per pair: at a random time, or a random moment into the Eucalyptus bundling and
 * upload. CHAOS_SEED replays a run's choices (kinds, delays; the seed is printed); where a delay
 * lands also depends on the machine's speed.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { guidTagKey } from '../../activities/sites/eucalyptus/eucalyptus-site.js';
import { manifestKeyOf } from '../../activities/sites/eucalyptus/upload-bundle.js';
import { ImageProxyClient } from '../../client/image-proxy-client.js';
import type { RegisterImageResult } from '../../common/register-contract.js';
import { cpuSeconds, hostLeftovers, RestartableTemporal, seededRandom, WorkerHost } from '../support/chaos-rig.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../support/eucalyptus-credentials.js';
import { HttpOrigin } from '../support/http-origin.js';
import { LOOPBACK_HTTP, newTestDir } from '../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { publishSampleImage, type PublishedImage } from '../support/sample-images.js';

const RUNS = Number(process.env.CHAOS_RUNS ?? 10);
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MiB = 1 << 20;
const BUCKET = 'imageproxy.bukkit';
const LOCAL = 'chaos-local';
const EUCA = 'chaos-euca';
const SITES = [LOCAL, EUCA] as const;
type Site = (typeof SITES)[number];
type KillKind = 'worker' | 'server' | 'both';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`chaos: SIGKILL of worker and Temporal during registrations (CHAOS_RUNS=${RUNS}, CHAOS_SEED=${SEED})`, () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let proxy: RecordingProxy;
  let creds: EucalyptusCredentials;
  let dir: string;
  let temporal: RestartableTemporal;
  let host: WorkerHost;
  let client: ImageProxyClient;
  const dataDir = (): string => join(dir, 'host');
  /** While the test keeps what it killed down, nobody brings it back. */
  let downtime = false;

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    proxy = await startRecordingProxy(moto.url, { bodyBytesPerSecond: 8 * MiB }); // uploads take seconds, so kills land in them
    dir = await newTestDir('chaos');
    await mkdir(join(dir, 'creds'));
    creds = await writeEucalyptusCredentials(join(dir, 'creds'));
    await mkdir(dataDir());
    const sites = {
      [LOCAL]: { type: 'local' },
      [EUCA]: { type: 'eucalyptus', eucarc: creds.eucarc, ec2Url: proxy.url, s3Url: proxy.url, region: 'us-east-1', pollIntervalSeconds: 0.1, partsInFlight: 1 },
    };
    await writeFile(join(dataDir(), 'config.json'), JSON.stringify({ sites, http: LOOPBACK_HTTP }));
    temporal = await RestartableTemporal.start(dir);
    host = new WorkerHost({ dataDir: dataDir(), hostId: 'chaos-host', temporal, workflowBundlePath: inject('workflowBundlePath') });
    await host.up();
    client = await ImageProxyClient.connect({ address: temporal.address });
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    await host?.stop();
    await temporal?.stop();
    await proxy?.stop();
    await moto?.stop();
    await origin?.stop();
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  const aws = { region: 'us-east-1', endpoint: '' };
  const ec2 = (): EC2Client => new EC2Client({ ...aws, endpoint: moto.url, credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey } });
  const s3 = (): S3Client =>
    new S3Client({ ...aws, endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey } });

  /** An image whose parts come slowly (about 6 MiB/s per request), so kills land mid-download. */
  async function slowImage(): Promise<PublishedImage> {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 12 * MiB, KERNEL: 1 * MiB, RAMDISK: 1 * MiB } });
    for (const p of image.parts) origin.injectFaults(p.urlPath, ...Array.from({ length: 20 }, () => ({ kind: 'slow' as const, bytesPerSecond: 6 * MiB })));
    return image;
  }

  /** Start the registration, surviving a server that is down meanwhile. */
  async function startRun(image: PublishedImage, site: Site): Promise<void> {
    for (const until = Date.now() + 60_000; ; ) {
      try {
        await client.start({ url: image.url, guid: image.guid, site });
        return;
      } catch (err) {
        if (Date.now() > until) throw err;
        await sleep(500);
      }
    }
  }

  /** The run's result once it closes, bringing back a worker that died on its own (as systemd would). */
  async function resultOf(image: PublishedImage, site: Site, timeoutMs: number): Promise<RegisterImageResult> {
    const until = Date.now() + timeoutMs;
    const handle = client.temporal.workflow.getHandle(`imageproxy/${site}/${image.guid}`);
    for (;;) {
      if (Date.now() > until) throw new Error(`${site} ${image.guid}: no result within ${timeoutMs} ms (CHAOS_SEED=${SEED})\n${host.log().slice(-4000)}`);
      if (!downtime) {
        await temporal.up();
        await host.up();
      }
      let result: RegisterImageResult | undefined;
      let status: string | undefined;
      try {
        result = (await Promise.race([handle.result(), sleep(5000).then(() => undefined)])) as RegisterImageResult | undefined;
        if (result) status = (await handle.describe()).status.name;
      } catch (err) {
        if (/failed|terminated|cancel/i.test((err as Error).name)) throw err;
        await sleep(500); // the server is restarting
      }
      if (result && status) {
        expect(status).toBe('COMPLETED');
        return result;
      }
    }
  }

  /** One image per GUID at the site, and nothing half made beside it. */
  async function expectRegisteredOnce(image: PublishedImage, site: Site, result: RegisterImageResult): Promise<void> {
    if (site === LOCAL) {
      const siteDir = join(dataDir(), 'sites', LOCAL);
      const entries = await readdir(siteDir);
      expect(entries.filter((e) => e.includes(image.guid))).toEqual([image.guid]);
      expect(entries.filter((e) => e.startsWith('.')), 'staging left in the site directory').toEqual([]);
      expect(Object.keys(result.ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
      return;
    }
    const client = ec2();
    try {
      const { Images = [] } = await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag-key', Values: [guidTagKey(image.guid)] }] }));
      expect(Images.map((i) => i.ImageId).sort()).toEqual(Object.values(result.ids).sort());
    } finally {
      client.destroy();
    }
  }

  /** Every image at the Eucalyptus site once by name, and S3 holding exactly their bundles. */
  async function expectBucketIsExactlyTheBundles(registered: number): Promise<void> {
    const e = ec2();
    const s = s3();
    try {
      const { Images = [] } = await e.send(new DescribeImagesCommand({ Owners: ['self'] }));
      const names = Images.map((i) => i.Name!);
      expect(new Set(names).size, `duplicate images: ${names.join(', ')}`).toBe(names.length);
      expect(Images).toHaveLength(3 * registered);
      const expected = new Set<string>();
      for (const name of names) {
        const key = manifestKeyOf(name);
        expected.add(key);
        const manifest = await (await s.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
        for (const m of manifest.matchAll(/<filename>([^<]+)<\/filename>/g)) expected.add(m[1]!);
      }
      const held: string[] = [];
      let token: string | undefined;
      do {
        const page = await s.send(new ListObjectsV2Command({ Bucket: BUCKET, ...(token ? { ContinuationToken: token } : {}) }));
        held.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      expect(held.sort()).toEqual([...expected].sort());
    } finally {
      e.destroy();
      s.destroy();
    }
  }

  const partPuts = (lines = proxy.requests): string[] => lines.filter((r) => r.startsWith(`PUT /${BUCKET}/`) && r.includes('.part.')).map((r) => r.split('?')[0]!);

  it('each run ends registered exactly once, with nothing left behind', async () => {
    const random = seededRandom(SEED);
    console.log(`chaos: CHAOS_SEED=${SEED} CHAOS_RUNS=${RUNS} (replay a failure with CHAOS_SEED=${SEED})`);
    const wallStart = Date.now();
    const cpuStart = await cpuSeconds();
    const loadStart = loadavg()[0]!;

    // Baseline, no kills: how long a pair of registrations takes here, now. Kill points fall within it.
    const baseImages = await Promise.all(SITES.map(() => slowImage()));
    const t0 = Date.now();
    await Promise.all(SITES.map((site, i) => startRun(baseImages[i]!, site)));
    await Promise.all(SITES.map((site, i) => resultOf(baseImages[i]!, site, 180_000)));
    const baselineMs = Date.now() - t0;
    let eucaRegistered = 1;
    const localGuids = [baseImages[0]!.guid];

    const kills: Record<KillKind, number> = { worker: 0, server: 0, both: 0 };
    const stagesAtKill: Record<string, number> = {};
    let killsSkipped = 0;
    let bytesFetched = 0;
    let bytesNeeded = 0;
    const pairTimes: number[] = [];
    // Kills that land are the point: a kill drawn after both runs of a pair ended is skipped, and
    // more pairs run (up to twice CHAOS_RUNS) until at least one kill per two pairs has landed.
    const killsNeeded = Math.ceil(RUNS / SITES.length / 2);
    const landed = (): number => kills.worker + kills.server + kills.both;
    for (let done = 0; done < RUNS || (landed() < killsNeeded && done < 2 * RUNS); done += SITES.length) {
      const images = await Promise.all(SITES.map(() => slowImage()));
      const start = Date.now();
      await Promise.all(SITES.map((site, i) => startRun(images[i]!, site)));
      const stageOf = async (i: number): Promise<string> => {
        const status = await Promise.race([client.getStatus(images[i]!.guid, SITES[i]!).catch(() => undefined), sleep(2000)]);
        return (status ? status.stage : undefined) ?? 'unknown';
      };
      const chaos = (async () => {
        const killsThisPair = random() < 0.3 ? 2 : 1;
        for (let k = 0; k < killsThisPair; k++) {
          if (random() < 0.5) await sleep(random() * 0.9 * baselineMs);
          else {
            // Into the Eucalyptus bundling and upload, a short stage (14 MiB at 8 MiB/s) that uniform times seldom hit.
            for (const until = Date.now() + 2 * baselineMs; Date.now() < until && !['register', 'done', 'failed'].includes(await stageOf(1)); ) await sleep(200);
            await sleep(random() * 1500);
          }
          const kind = (['worker', 'server', 'both'] as const)[Math.floor(random() * 3)]!;
          const stages = [await stageOf(0), await stageOf(1)];
          if (stages.every((st) => st === 'done')) {
            killsSkipped++; // nothing left to interrupt
            console.log('chaos: kill skipped, both registrations of the pair are done');
            continue;
          }
          console.log(`chaos: kill ${kind} at local:${stages[0]} euca:${stages[1]}`);
          for (const [i, site] of SITES.entries()) {
            const stage = `${site === LOCAL ? 'local' : 'euca'}:${stages[i]}`;
            stagesAtKill[stage] = (stagesAtKill[stage] ?? 0) + 1;
          }
          kills[kind]++;
          downtime = true;
          if (kind !== 'server') await host.kill();
          if (kind !== 'worker') await temporal.kill();
          await sleep(300 + random() * 2700);
          await temporal.up();
          await host.up();
          downtime = false;
        }
      })();
      const results = await Promise.all(SITES.map((site, i) => resultOf(images[i]!, site, 300_000)));
      await chaos;
      pairTimes.push(Date.now() - start);
      console.log(`chaos: pair ${pairTimes.length} (of ${Math.ceil(RUNS / SITES.length)} or more) registered in ${((Date.now() - start) / 1000).toFixed(1)} s; kills so far ${JSON.stringify(kills)}`);
      eucaRegistered++;
      for (const [i, site] of SITES.entries()) await expectRegisteredOnce(images[i]!, site, results[i]!);
      localGuids.push(images[0]!.guid);
      const published = (await readdir(join(dataDir(), 'sites', LOCAL))).sort();
      expect(published, 'the local site holds exactly the images registered').toEqual([...localGuids].sort());
      await expectBucketIsExactlyTheBundles(eucaRegistered);
      expect(await hostLeftovers(dataDir()), `CHAOS_SEED=${SEED}`).toEqual([]);
      for (const image of images) {
        for (const p of image.parts) {
          bytesFetched += origin.bytesSentOf(p.urlPath);
          bytesNeeded += p.size;
        }
      }
    }

    // Stopped here, so their CPU time is counted with the killed ones'.
    await host.stop();
    await temporal.stop();
    const cpuEnd = await cpuSeconds();
    const puts = partPuts();
    const acknowledged = partPuts(proxy.succeeded);
    const acknowledgedTwice = acknowledged.length - new Set(acknowledged).size;
    const figures = {
      seed: SEED,
      runs: pairTimes.length * SITES.length,
      kills,
      killsSkippedBothDone: killsSkipped,
      stagesAtKill,
      workerExitedOnItsOwn: host.exitedOnItsOwn,
      baselinePairSeconds: +(baselineMs / 1000).toFixed(1),
      chaosPairSecondsMedian: +(pairTimes.sort((a, b) => a - b)[Math.floor(pairTimes.length / 2)]! / 1000).toFixed(1),
      originBytesPerPartByte: +(bytesFetched / bytesNeeded).toFixed(3),
      s3PartPutsPerPart: +(puts.length / new Set(puts).size).toFixed(3),
      s3PartsAcknowledgedTwice: acknowledgedTwice,
      wallSeconds: Math.round((Date.now() - wallStart) / 1000),
      cpuSecondsTest: +(cpuEnd.self - cpuStart.self).toFixed(1),
      cpuSecondsExitedChildren: +(cpuEnd.children - cpuStart.children).toFixed(1),
      loadAverage: [loadStart, loadavg()[0]!].map((l) => +l.toFixed(2)),
    };
    console.log(`chaos figures: ${JSON.stringify(figures)}`);
    expect(landed(), `kills that landed while a registration was running (CHAOS_SEED=${SEED})`).toBeGreaterThanOrEqual(killsNeeded);
    expect(acknowledgedTwice, 'bundle parts S3 had acknowledged were uploaded again').toBe(0);
  }, 3_600_000);
});
