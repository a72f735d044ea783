/**
 * Crash and resume of a torrent download: the worker runs as its own process (`imageproxy
 * worker`), is killed with SIGKILL mid-torrent, and a new worker process with the same host id
 * finishes the download. The verified pieces on disk are re-checked, not fetched again; the second
 * worker then shuts down cleanly on SIGTERM while seeding (no socket or timer keeps it alive).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pseudoRandomBytes, sha1Hex } from '../../../../client/demo/sample-image.js';
import { makeTorrent, metadataXml, Program, startAria2Seeder, startOpentracker, waitFor } from '../../../support/bittorrent-peers.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World, LOOPBACK_HTTP } from '../../../support/image-proxy-world.js';

const SIZE = 8 << 20;
const PIECE = 1 << 16;

interface LogLine {
  msg?: string;
  piecesOnDisk?: number;
  pieces?: number;
  bytesReceived?: number;
}

async function logLines(program: Program): Promise<LogLine[]> {
  return (await program.log())
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

describe('BitTorrent download killed mid-torrent', () => {
  let origin: HttpOrigin;
  let world: World;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { unused: { type: 'local' } }, startWorkers: false }); // only its client
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await world?.stop();
    await origin?.stop();
  });

  it('resumes in a new worker process from the verified pieces on disk, then exits cleanly on SIGTERM', async () => {
    const site = uniqueName('btresume');
    const dir = await newTestDir('bt-resume');
    const data = pseudoRandomBytes(SIZE, Date.now() % 1e6);
    await writeFile(join(dir, 'disk.img'), data);
    const probe = await makeTorrent(join(dir, 'disk.img'), { out: join(dir, 'probe.torrent') });
    const tracker = await startOpentracker([probe.infoHash]);
    stops.push(() => tracker.stop());
    const torrent = await makeTorrent(join(dir, 'disk.img'), { announce: tracker.announceUrl, out: join(dir, 'disk.torrent') });
    // 1 MiB/s: about 8 s for the whole file, time enough to kill the worker half way.
    const seeder = await startAria2Seeder({ torrents: [torrent], dir, tracker, uploadLimit: 1 << 20 });
    stops.push(() => seeder.stop());

    const prefix = `/${site}`;
    const xml = metadataXml([{ type: 'FILESYSTEM', sha1: sha1Hex(data), url: await origin.addFile(`${prefix}/disk.torrent`, torrent.path) }]);
    const metadataUrl = origin.addBuffer(`${prefix}/image.xml`, xml);
    const guid = sha1Hex(xml);

    const dataDir = await newTestDir('bt-resume-worker');
    const configPath = join(dataDir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        sites: { [site]: { type: 'local' } },
        http: LOOPBACK_HTTP,
        bittorrent: { dht: false, lsd: false, pex: false, utp: false, listenAddress: '127.0.0.1', stallTimeoutMs: 60_000 },
      }),
    );
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      IMAGEPROXY_DATA_DIR: dataDir,
      IMAGEPROXY_CONFIG: configPath,
      IMAGEPROXY_HOST_ID: 'resume-host',
      IMAGEPROXY_LOG_LEVEL: 'info',
    };
    const startWorker = (n: number): Program => {
      const child = spawn(process.execPath, [resolve('bin/imageproxy.js'), 'worker', '--site', site], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const program = new Program(`worker-${n}`, child, join(dataDir, `worker-${n}.log`));
      stops.push(() => program.stop('SIGKILL'));
      return program;
    };

    const first = startWorker(1);
    const handle = await world.client.start({ url: metadataUrl, guid, site });
    const result = handle.result();
    result.catch(() => undefined); // awaited below
    // Kill it once at least 40% of the file is verified (`status` says so, from the heartbeats).
    await waitFor(
      async () => {
        const status = await world.client.getStatus(guid, site).catch(() => undefined);
        const fs = status?.progress?.parts.find((p) => p.type === 'FILESYSTEM');
        return (fs?.bytesDone ?? 0) >= SIZE * 0.4;
      },
      60_000,
      'the first worker to download 40% of the file',
      first,
    );
    await first.stop('SIGKILL');
    const firstLog = await logLines(first);
    expect(firstLog.some((l) => l.msg === 'torrent complete')).toBe(false); // really killed mid-torrent

    const second = startWorker(2);
    const registered = await result; // the activity's retry runs on the new worker (same host queue)
    expect(createHash('sha1').update(await readFile(registered.ids.FILESYSTEM!)).digest('hex')).toBe(sha1Hex(data));

    const lines = await logLines(second);
    const resumed = lines.find((l) => l.msg === 'torrent resumed: pieces on disk verified');
    const complete = lines.find((l) => l.msg === 'torrent complete');
    expect(resumed, `second worker's log:\n${await second.log()}`).toBeDefined();
    const pieces = SIZE / PIECE;
    expect(resumed!.pieces).toBe(pieces);
    expect(resumed!.piecesOnDisk!).toBeGreaterThanOrEqual(pieces * 0.3);
    // Only the missing pieces came over the wire (a few more for requests in flight at the end).
    expect(complete!.bytesReceived!).toBeLessThanOrEqual((pieces - resumed!.piecesOnDisk! + 4) * PIECE);

    // Seeding goes on after the activity; SIGTERM still ends the process cleanly and promptly.
    const stoppedAt = Date.now();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
  });
});
