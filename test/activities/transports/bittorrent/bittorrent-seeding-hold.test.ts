/**
 * The seeding hold (`holdSeedingWhile`): a real webtorrent client seeds a real torrent past its
 * policy while the check says a distribution still needs it, and stops (closing the torrent and
 * removing its directory) once the check lets go.
 */
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SharedTorrentClient } from '../../../../activities/transports/bittorrent/shared-torrent-client.js';
import { parseMetainfo } from '../../../../activities/transports/bittorrent/webtorrent-client.js';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { createLogger } from '../../../../workers/logger.js';
import { makeTorrent, waitFor } from '../../../support/bittorrent-peers.js';
import { newTestDir } from '../../../support/image-proxy-world.js';

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

it('a torrent past its seeding limit keeps seeding while a distribution needs it, and stops once it does not', async () => {
  const base = await newTestDir('seeding-hold');
  const source = join(base, 'disk.img');
  await writeFile(source, pseudoRandomBytes(256 << 10, 7));
  const made = await makeTorrent(source, { out: join(base, 'disk.torrent') });
  const dir = join(base, 'bittorrent', made.infoHash);
  await mkdir(dir, { recursive: true });
  await copyFile(source, join(dir, 'disk.img'));

  const torrents = new SharedTorrentClient({ dht: false, lsd: false, pex: false, utp: false, listenPort: 0, listenAddress: '127.0.0.1' }, createLogger('silent'));
  let needed = true;
  const asked: string[] = [];
  const release = torrents.holdSeedingWhile((infoHash) => {
    asked.push(infoHash);
    return needed;
  });
  try {
    const client = await torrents.client();
    const torrent = client.add(await parseMetainfo(await readFile(made.path)), dir);
    await torrent.whenReady();
    expect(torrent.stats().piecesVerified).toBe(torrent.stats().pieceCount);
    // A policy that is over at once (0.5 s): only the hold keeps it.
    torrents.seedAfterDownload(torrent, dir, { maxSeconds: 0.5, maxRatio: 10 });
    await new Promise((r) => setTimeout(r, 4500)); // two policy checks past the limit
    expect(asked).toContain(made.infoHash);
    expect(torrents.isSeeding(made.infoHash)).toBe(true);
    expect(torrent.closed).toBe(false);
    expect(await exists(dir)).toBe(true);

    needed = false;
    await waitFor(async () => !torrents.isSeeding(made.infoHash) && !(await exists(dir)), 10_000, 'seeding to stop once the hold is gone');
    expect(torrent.closed).toBe(true);
  } finally {
    release();
    await torrents.close();
  }
}, 30_000);
