/**
 * The BitTorrent transport for the Transport conformance suite: `.torrent` files made by
 * mktorrent and served over HTTP, aria2c seeding (slow content at a capped upload rate),
 * opentracker, our shared webtorrent client; DHT, LSD and PEX off, loopback only.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBittorrentTransport } from '../../../../activities/transports/bittorrent/bittorrent-transport.js';
import { acquireSharedTorrentClient } from '../../../../activities/transports/bittorrent/shared-torrent-client.js';
import { createHttpTransport } from '../../../../activities/transports/http-transport.js';
import { BittorrentSchema, HttpSchema } from '../../../../config/config-schema.js';
import { createLogger } from '../../../../workers/logger.js';
import { makeTorrent, startAria2Seeder, startOpentracker, type MadeTorrent } from '../../../support/bittorrent-peers.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { LOOPBACK_HTTP } from '../../../support/image-proxy-world.js';
import type { TransportHarnessFactory } from '../transport-conformance.js';

const harness: TransportHarnessFactory = {
  name: 'bittorrent',
  async start(dir, contents) {
    const files = join(dir, 'seeded');
    await mkdir(files, { recursive: true });
    const paths = await Promise.all(
      contents.map(async (c, i) => {
        const path = join(files, `content-${i}.img`);
        await writeFile(path, c.data);
        return path;
      }),
    );
    // The info hash does not depend on the announce URL: make them once to whitelist, once for real.
    const probes = await Promise.all(paths.map((p, i) => makeTorrent(p, { announce: 'http://127.0.0.1:1/announce', out: join(dir, `probe-${i}.torrent`) })));
    const tracker = await startOpentracker(probes.map((t) => t.infoHash));
    const torrents: MadeTorrent[] = await Promise.all(paths.map((p, i) => makeTorrent(p, { announce: tracker.announceUrl, out: join(dir, `content-${i}.torrent`) })));
    const fast = await startAria2Seeder({ torrents: torrents.filter((_, i) => !contents[i]!.slow), dir: files, tracker });
    const slow = await startAria2Seeder({ torrents: torrents.filter((_, i) => contents[i]!.slow), dir: files, tracker, uploadLimit: 1 << 20 });
    const origin = await new HttpOrigin().start();
    const urls = await Promise.all(torrents.map((t, i) => origin.addFile(`/content-${i}.img.torrent`, t.path)));

    const logger = createLogger('silent');
    const bt = BittorrentSchema.parse({ dht: false, lsd: false, pex: false, utp: false, listenAddress: '127.0.0.1', seeding: { maxSeconds: 0 } });
    const httpConfig = HttpSchema.parse(LOOPBACK_HTTP); // origin, tracker and web seeds are on loopback
    const shared = acquireSharedTorrentClient({ dht: false, lsd: false, pex: false, utp: false, listenPort: 0, listenAddress: '127.0.0.1' }, logger);
    await mkdir(join(dir, 'tmp'), { recursive: true });
    return {
      transport: createBittorrentTransport({
        config: bt,
        httpConfig,
        http: createHttpTransport({ config: httpConfig }),
        torrents: shared.client,
        dir: join(dir, 'bittorrent'),
        tmpDir: join(dir, 'tmp'),
        logger,
      }),
      urls,
      async dispose() {
        await shared.release();
        await Promise.all([fast.stop(), slow.stop(), tracker.stop(), origin.stop()]);
      },
    };
  },
};
export default harness;
