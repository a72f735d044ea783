/**
 * The BitTorrent transport against third-party peers on loopback: opentracker (Debian) as the
 * tracker, torrents made by mktorrent (and transmission-create), aria2c (and transmission-cli) as
 * seeder, aria2c as a fresh leecher, a real Temporal server and in-process workers of a `local`
 * site. DHT, LSD and peer exchange are off everywhere.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, sha1Hex } from '../../../../client/demo/sample-image.js';
import { RegistrationFailedError } from '../../../../client/image-proxy-client.js';
import {
  aria2Download,
  makeTorrent,
  makeTransmissionTorrent,
  metadataXml,
  startAria2Seeder,
  startOpentracker,
  startTransmissionSeeder,
  type MadeTorrent,
  type Tracker,
} from '../../../support/bittorrent-peers.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { cacheDirOf, newTestDir, startWorld, uniqueName, type World } from '../../../support/image-proxy-world.js';

const sha1 = async (file: string): Promise<string> => createHash('sha1').update(await readFile(file)).digest('hex');

let seed = Math.floor(Math.random() * 1e6);

/** A part file of `size` pseudo-random bytes in a new directory. */
async function partFile(name: string, size: number): Promise<{ dir: string; path: string; sha1: string }> {
  const dir = await newTestDir('bt-part');
  const data = pseudoRandomBytes(size, seed++);
  const path = join(dir, name);
  await writeFile(path, data);
  return { dir, path, sha1: sha1Hex(data) };
}

describe('BitTorrent transport (webtorrent) with aria2c, mktorrent and opentracker', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('bt');
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({
      sites: { [site]: { type: 'local' } },
      bittorrent: {
        dht: false,
        lsd: false,
        pex: false,
        utp: false,
        listenAddress: '127.0.0.1',
        seeding: { maxSeconds: 600, maxRatio: 50 },
        stallTimeoutMs: 60_000, // transmission-cli can take 20 s and more to serve a new peer
      },
    });
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await world?.stop();
    await origin?.stop();
  });

  /**
   * Publish an image whose FILESYSTEM comes from `fsUrl(torrent)` and whose kernel and ramdisk
   * come over HTTP; returns the metadata URL and GUID.
   */
  async function publish(fs: { sha1: string }, fsUrl: string): Promise<{ url: string; guid: string }> {
    const kernel = await partFile('vmlinuz', 64 << 10);
    const ramdisk = await partFile('initrd', 64 << 10);
    const prefix = `/${uniqueName('img')}`;
    const xml = metadataXml([
      { type: 'FILESYSTEM', sha1: fs.sha1, url: fsUrl },
      { type: 'KERNEL', sha1: kernel.sha1, url: await origin.addFile(`${prefix}/vmlinuz`, kernel.path) },
      { type: 'RAMDISK', sha1: ramdisk.sha1, url: await origin.addFile(`${prefix}/initrd`, ramdisk.path) },
    ]);
    return { url: origin.addBuffer(`${prefix}/image.xml`, xml), guid: sha1Hex(xml) };
  }

  async function tracked(hashes: string[]): Promise<Tracker> {
    const tracker = await startOpentracker(hashes);
    cleanups.push(() => tracker.stop());
    return tracker;
  }

  async function torrentOf(file: string, announce?: string, extra: { webSeed?: string } = {}): Promise<MadeTorrent> {
    const out = join(await newTestDir('torrent'), `${basename(file)}.torrent`);
    return makeTorrent(file, { ...(announce ? { announce } : {}), ...extra, out });
  }

  it('interop in: registers an image from a .torrent seeded by aria2c; interop out: a fresh aria2c then downloads it from our worker alone', async () => {
    const fs = await partFile('disk.img', 3 << 20);
    const tracker0 = await torrentOf(fs.path, 'http://127.0.0.1:1/announce'); // info hash first, for the whitelist
    const tracker = await tracked([tracker0.infoHash]);
    const torrent = await torrentOf(fs.path, tracker.announceUrl);
    expect(torrent.infoHash).toBe(tracker0.infoHash); // the announce URL is outside the info dictionary
    const torrentPath = `/${uniqueName('t')}/disk.img.torrent`;
    const torrentUrl = await origin.addFile(torrentPath, torrent.path);
    const seeder = await startAria2Seeder({ torrents: [torrent], dir: fs.dir, tracker });
    cleanups.push(() => seeder.stop());

    const image = await publish(fs, torrentUrl);
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);
    expect(origin.requestsOf(torrentPath)).toBe(1); // only the metainfo came over HTTP

    // Our worker is the only seeder now: aria2c's seeder process is gone.
    await seeder.stop();
    expect(seeder.child.exitCode ?? seeder.child.signalCode).not.toBeNull();
    const leecher = await newTestDir('aria2-leecher');
    await aria2Download({ torrent, dir: leecher, timeoutMs: 60_000 });
    expect(await sha1(join(leecher, 'disk.img'))).toBe(fs.sha1);
  });

  it('interop in with Transmission: a .torrent made by transmission-create, seeded by transmission-cli, hash verified', async () => {
    const fs = await partFile('transmission.img', 3 << 20);
    const probe = await makeTransmissionTorrent(fs.path, { announce: 'http://127.0.0.1:1/announce', out: join(await newTestDir('torrent'), 'probe.torrent') });
    const tracker = await tracked([probe.infoHash]);
    const torrent = await makeTransmissionTorrent(fs.path, { announce: tracker.announceUrl, out: join(await newTestDir('torrent'), 'transmission.img.torrent') });
    expect(torrent.infoHash).toBe(probe.infoHash);
    const seeder = await startTransmissionSeeder({ torrent, dir: fs.dir, tracker });
    cleanups.push(() => seeder.stop());

    const torrentPath = `/${uniqueName('t')}/transmission.img.torrent`;
    const image = await publish(fs, await origin.addFile(torrentPath, torrent.path));
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);
    expect(origin.requestsOf(torrentPath)).toBe(1); // the content came from transmission-cli, not HTTP
  });

  it('a magnet link to the same kind of content: metadata from the peer, file verified', async () => {
    const fs = await partFile('magnet.img', 2 << 20);
    const probe = await torrentOf(fs.path);
    const tracker = await tracked([probe.infoHash]);
    const torrent = await torrentOf(fs.path, tracker.announceUrl);
    const seeder = await startAria2Seeder({ torrents: [torrent], dir: fs.dir, tracker });
    cleanups.push(() => seeder.stop());

    const image = await publish(fs, torrent.magnet([tracker.announceUrl]));
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);
  });

  it('honours web seeds (BEP 19 url-list): with no peer at all, the origin fills in', async () => {
    const fs = await partFile('webseed.img', 1 << 20);
    const prefix = `/${uniqueName('ws')}`;
    const fileUrl = await origin.addFile(`${prefix}/webseed.img`, fs.path);
    const torrent = await torrentOf(fs.path, undefined, { webSeed: fileUrl });
    const torrentUrl = await origin.addFile(`${prefix}/webseed.img.torrent`, torrent.path);

    const image = await publish(fs, torrentUrl);
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(fs.sha1);
    expect(origin.bytesSentOf(`${prefix}/webseed.img`)).toBeGreaterThanOrEqual(1 << 20);
  });

  it('a multi-file torrent fails clearly unless the URL names the file (#file=); then it downloads that file', async () => {
    const dir = await newTestDir('multi');
    const content = join(dir, 'bundle');
    await mkdir(content);
    const a = await partFile('root.img', 1 << 20);
    const b = await partFile('other.img', 256 << 10);
    await copyFile(a.path, join(content, 'root.img'));
    await copyFile(b.path, join(content, 'other.img'));
    const probe = await torrentOf(content);
    const tracker = await tracked([probe.infoHash]);
    const torrent = await torrentOf(content, tracker.announceUrl);
    const seeder = await startAria2Seeder({ torrents: [torrent], dir, tracker });
    cleanups.push(() => seeder.stop());
    const torrentUrl = await origin.addFile(`/${uniqueName('multi')}/bundle.torrent`, torrent.path);

    const bad = await publish(a, torrentUrl);
    const started = Date.now();
    const err = await world.client.registerImage({ url: bad.url, guid: bad.guid, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistrationFailedError);
    expect((err as Error).message).toMatch(/holds 2 files \((other\.img, root\.img|root\.img, other\.img)\); name the one to fetch with #file=/);
    expect(Date.now() - started).toBeLessThan(15_000); // not retried
    expect(await readdir(join(cacheDirOf(world), '.partial'))).toEqual([]);

    const good = await publish(a, `${torrentUrl}#file=root.img`);
    const result = await world.client.registerImage({ url: good.url, guid: good.guid, site });
    expect(await sha1(result.ids.FILESYSTEM!)).toBe(a.sha1);
  });

  it('cancelling the workflow stops the torrent and deletes its data', async () => {
    const fs = await partFile('cancel.img', 8 << 20);
    const probe = await torrentOf(fs.path);
    const tracker = await tracked([probe.infoHash]);
    const torrent = await torrentOf(fs.path, tracker.announceUrl);
    // 128 KiB/s: the download would take a minute.
    const seeder = await startAria2Seeder({ torrents: [torrent], dir: fs.dir, tracker, uploadLimit: 128 << 10 });
    cleanups.push(() => seeder.stop());
    const image = await publish(fs, await origin.addFile(`/${uniqueName('cancel')}/cancel.img.torrent`, torrent.path));

    const handle = await world.client.start({ url: image.url, guid: image.guid, site });
    const torrentDir = join(world.dataDir, 'bittorrent', torrent.infoHash);
    await expect.poll(() => readdir(torrentDir).then((f) => f.length, () => 0), { timeout: 30_000 }).toBeGreaterThan(0);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(/cancel/i);
    // The activity hears of the cancellation with its next heartbeat sent to the server.
    await expect.poll(() => readdir(torrentDir).then(() => 'present', () => 'gone'), { timeout: 40_000, interval: 500 }).toBe('gone');
    expect(await readdir(join(cacheDirOf(world), '.partial'))).toEqual([]);
  });

  it('a .torrent URL that serves something else is a non-retried BadTorrent error', async () => {
    const fs = await partFile('junk.img', 64 << 10);
    const url = origin.addBuffer(`/${uniqueName('junk')}/junk.torrent`, 'this is not bencode');
    const image = await publish(fs, url);
    const err = await world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/junk\.torrent: not a valid \.torrent file \(19 bytes\)/);
  });
});
