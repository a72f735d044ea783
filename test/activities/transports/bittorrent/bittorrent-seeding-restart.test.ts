/**
 * A site that has an image keeps serving it to other sites across a worker restart: the worker
 * that downloaded a torrent stops (its seeding window not over), a new worker on the same data
 * directory re-verifies the data and seeds it again, and a fresh aria2c, with no other seeder,
 * downloads the file from it. Real opentracker, mktorrent, aria2c and Temporal; DHT/LSD/PEX off.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, sha1Hex } from '../../../../client/demo/sample-image.js';
import { aria2Download, makeTorrent, metadataXml, startAria2Seeder, startOpentracker } from '../../../support/bittorrent-peers.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../../../support/image-proxy-world.js';

const sha1 = async (file: string): Promise<string> => createHash('sha1').update(await readFile(file)).digest('hex');

describe('BitTorrent seeding across a worker restart', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('btseed');
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({
      sites: { [site]: { type: 'local' } },
      bittorrent: { dht: false, lsd: false, pex: false, utp: false, listenAddress: '127.0.0.1', seeding: { maxSeconds: 600, maxRatio: 50 } },
    });
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await world?.stop();
    await origin?.stop();
  });

  it('a restarted worker re-verifies what it was seeding and serves it again to a fresh aria2c', async () => {
    const partDir = await newTestDir('bt-part');
    const data = pseudoRandomBytes(3 << 20, Math.floor(Math.random() * 1e6));
    const file = join(partDir, 'restart.img');
    await writeFile(file, data);
    const probe = await makeTorrent(file, { out: join(await newTestDir('torrent'), 'probe.torrent') });
    const tracker = await startOpentracker([probe.infoHash]);
    cleanups.push(() => tracker.stop());
    const torrent = await makeTorrent(file, { announce: tracker.announceUrl, out: join(await newTestDir('torrent'), `${basename(file)}.torrent`) });
    const seeder = await startAria2Seeder({ torrents: [torrent], dir: partDir, tracker });
    cleanups.push(() => seeder.stop());

    const prefix = `/${uniqueName('img')}`;
    const kernel = pseudoRandomBytes(64 << 10, 1);
    const xml = metadataXml([
      { type: 'FILESYSTEM', sha1: sha1Hex(data), url: await origin.addFile(`${prefix}/restart.img.torrent`, torrent.path) },
      { type: 'KERNEL', sha1: sha1Hex(kernel), url: origin.addBuffer(`${prefix}/vmlinuz`, kernel) },
    ]);
    const result = await world.client.registerImage({ url: origin.addBuffer(`${prefix}/image.xml`, xml), guid: sha1Hex(xml), site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(sha1Hex(data));

    // Everyone stops: aria2c's seeder, and our worker (well inside its 600 s seeding window).
    await seeder.stop();
    await world.workers[0]!.shutdown();
    const btDir = join(world.dataDir, 'bittorrent');
    expect(await readdir(btDir)).toEqual(expect.arrayContaining([torrent.infoHash, `${torrent.infoHash}.seeding.json`]));
    expect(seeder.child.exitCode ?? seeder.child.signalCode).not.toBeNull(); // the tracker may still list it: nobody answers there

    // A new worker on the same data directory seeds it again, after re-verifying every piece.
    const restarted = await world.startWorker(site);
    expect(await restarted.seedingResumed).toEqual([torrent.infoHash]);
    const leecher = await newTestDir('aria2-leecher');
    await aria2Download({ torrent, dir: leecher, timeoutMs: 60_000 });
    expect(await sha1(join(leecher, 'restart.img'))).toBe(sha1Hex(data));
  });
});
