/**
 * Where a torrent's bytes come from: the origin's web seed is a fallback for peers, not a parallel
 * source at full speed; and two of our clients fetching the same torrent at once trade pieces with
 * each other (each starts at a piece of its own). Real peers on loopback: aria2c seeding, opentracker,
 * an HTTP origin that counts the bytes it sends, and our transport with its own webtorrent client
 * (two clients, each with its own port and directory, for the trade).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBittorrentTransport } from '../../../../activities/transports/bittorrent/bittorrent-transport.js';
import { SharedTorrentClient } from '../../../../activities/transports/bittorrent/shared-torrent-client.js';
import { createHttpTransport } from '../../../../activities/transports/http-transport.js';
import type { Transport } from '../../../../activities/transports/transport.js';
import { pseudoRandomBytes, sha1Hex } from '../../../../client/demo/sample-image.js';
import { BittorrentSchema, HttpSchema } from '../../../../config/config-schema.js';
import { createLogger } from '../../../../workers/logger.js';
import { makeTorrent, startAria2Seeder, startOpentracker } from '../../../support/bittorrent-peers.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { LOOPBACK_HTTP, newTestDir } from '../../../support/image-proxy-world.js';

const MiB = 1 << 20;
let seed = Math.floor(Math.random() * 1e6);

describe('BitTorrent sources: web seed as fallback, sites trading pieces', () => {
  let origin: HttpOrigin;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await origin?.stop();
  });

  /** An image file, its torrent (tracker and/or web seed), the .torrent URL at the origin. */
  async function publish(size: number, opts: { tracked: boolean; webSeed: boolean }) {
    const dir = await newTestDir('bt-sources');
    const data = pseudoRandomBytes(size, seed++);
    const path = join(dir, 'disk.img');
    await writeFile(path, data);
    const prefix = `/src-${seed}`;
    const fileUrl = await origin.addFile(`${prefix}/disk.img`, path);
    const probe = await makeTorrent(path, { out: join(dir, 'probe.torrent'), pieceLengthExp: 18 });
    // The info hash does not depend on the announce URL or web seeds: whitelist it first.
    const tracker = opts.tracked ? await startOpentracker([probe.infoHash]) : undefined;
    if (tracker) cleanups.push(() => tracker.stop());
    const torrent = await makeTorrent(path, {
      out: join(dir, 'disk.torrent'),
      pieceLengthExp: 18,
      ...(tracker ? { announce: tracker.announceUrl } : {}),
      ...(opts.webSeed ? { webSeed: fileUrl } : {}),
    });
    return { dir, tracker, sha1: sha1Hex(data), torrent, torrentUrl: await origin.addFile(`${prefix}/disk.torrent`, torrent.path), webSeedPath: `${prefix}/disk.img` };
  }

  /** Our transport with a webtorrent client of its own (as one worker host has). */
  async function ourHost(name: string): Promise<{ transport: Transport; dir: string; uploaded: (infoHash: string) => Promise<number> }> {
    const dir = await newTestDir(`bt-host-${name}`);
    await mkdir(join(dir, 'tmp'));
    const logger = createLogger('silent');
    // Its own client (not the process's shared one): each host listens on a port of its own.
    const torrents = new SharedTorrentClient({ dht: false, lsd: false, pex: false, utp: false, listenPort: 0, listenAddress: '127.0.0.1' }, logger);
    cleanups.push(() => torrents.close());
    const transport = createBittorrentTransport({
      // A stalled attempt fails after 30 s (not 5 min), and is tried again below, as Temporal would.
      config: BittorrentSchema.parse({ dht: false, lsd: false, pex: false, seeding: { maxSeconds: 600, maxRatio: 50 }, stallTimeoutMs: 30_000 }),
      httpConfig: HttpSchema.parse(LOOPBACK_HTTP), // origin, tracker and web seed are on loopback
      http: createHttpTransport({ config: HttpSchema.parse(LOOPBACK_HTTP) }),
      torrents,
      dir: join(dir, 'bittorrent'),
      tmpDir: join(dir, 'tmp'),
      logger,
    });
    const uploaded = async (infoHash: string): Promise<number> => (await torrents.client()).find(infoHash)?.stats().uploaded ?? 0;
    return { transport, dir, uploaded };
  }

  it('with a seeding peer, the web seed (the origin) sends little; peers deliver the rest', async () => {
    const image = await publish(32 * MiB, { tracked: true, webSeed: true });
    const seeder = await startAria2Seeder({ torrents: [image.torrent], dir: image.dir, tracker: image.tracker! });
    cleanups.push(() => seeder.stop());
    const host = await ourHost('a');
    const got = await host.transport.fetchToFile({ url: image.torrentUrl, destPath: join(host.dir, 'disk.img'), hashAlgorithm: 'sha1' });
    expect(got.hashHex).toBe(image.sha1);
    // Peers got a head start and delivered: the origin sent a small share at most.
    expect(origin.bytesSentOf(image.webSeedPath)).toBeLessThan(8 * MiB);
  }, 120_000);

  it('two of our hosts fetching the same torrent at once trade pieces with each other', async () => {
    // A slow seeder (4 MiB/s shared by both): each host gets pieces the other lacks, and asks it for them.
    const image = await publish(24 * MiB, { tracked: true, webSeed: false });
    const seeder = await startAria2Seeder({ torrents: [image.torrent], dir: image.dir, tracker: image.tracker!, uploadLimit: 4 * MiB });
    cleanups.push(() => seeder.stop());
    const [a, b] = [await ourHost('c'), await ourHost('d')];
    // Once in a CI run on a loaded machine, one of the two stalled; the activity's retry resumes it.
    const fetchResumed = async (h: typeof a) => {
      const request = { url: image.torrentUrl, destPath: join(h.dir, 'disk.img'), hashAlgorithm: 'sha1' as const };
      return h.transport.fetchToFile(request).catch((err: unknown) => {
        if (!/no new piece/.test(String(err))) throw err;
        return h.transport.fetchToFile(request);
      });
    };
    const results = await Promise.all([a, b].map(fetchResumed));
    for (const r of results) expect(r.hashHex).toBe(image.sha1);
    const uploadedA = await a.uploaded(image.torrent.infoHash);
    const uploadedB = await b.uploaded(image.torrent.infoHash);
    // aria2c seeds with ratio 0 and never downloads: whatever our hosts uploaded went to each other.
    expect(uploadedA).toBeGreaterThan(0);
    expect(uploadedB).toBeGreaterThan(0);
    // At least a whole piece (256 KiB) went between them, not just protocol chatter.
    expect(uploadedA + uploadedB).toBeGreaterThanOrEqual(256 << 10);
  }, 180_000);

  it('with no peer at all, the web seed delivers the whole file', async () => {
    const image = await publish(8 * MiB, { tracked: false, webSeed: true });
    const host = await ourHost('b');
    const got = await host.transport.fetchToFile({ url: image.torrentUrl, destPath: join(host.dir, 'disk.img'), hashAlgorithm: 'sha1' });
    expect(got.hashHex).toBe(image.sha1);
    expect(origin.bytesSentOf(image.webSeedPath)).toBeGreaterThanOrEqual(8 * MiB);
  }, 120_000);
});
