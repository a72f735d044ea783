/**
 * Fleet distribution with real worker processes (`imageproxy worker`), each with its own data dir,
 * host id, site and peer endpoint on loopback, and one throttled origin that counts its bytes:
 * the origin sends the part about once (published over HTTP or as a torrent with the origin as web
 * seed), a corrupting peer costs time but not correctness, a killed peer hangs nothing, a host
 * without a peer section fetches from peers when the token lies beside its config, and hosts
 * without peers (or whose peers cannot be dialed) still register.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { pseudoRandomBytes, sha1Hex } from '../../client/demo/sample-image.js';
import type { DistributeImageResult } from '../../common/distribute-contract.js';
import { freePort, makeTorrent, metadataXml } from '../support/bittorrent-peers.js';
import { CorruptingProxy } from '../support/corrupting-proxy.js';
import { startFleetHost, waitForLog, writeTokenFile, type FleetHost, type FleetHostOptions } from '../support/fleet-hosts.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';

const SIZE = 8 << 20;
/** The origin's pace: the first host takes seconds, time for the others to start from it. */
const ORIGIN_RATE = 2 << 20;

// Each test starts three worker processes (each bundles the workflows): minutes on a loaded machine.
describe('fleet distribution between worker processes', { timeout: 240_000 }, () => {
  let origin: HttpOrigin;
  let world: World;
  let hosts: FleetHost[] = [];
  /** Every host process started, also those whose start failed: all are stopped after each test. */
  const started: FleetHost[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { unused: { type: 'local' } }, startWorkers: false }); // only its client
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.program.stop('SIGKILL')));
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    hosts = [];
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  /** A fresh image on the origin, its part paced at `rate` bytes a second. */
  async function publish(name: string, rate = ORIGIN_RATE): Promise<{ url: string; guid: string; partPath: string; sha1: string }> {
    const dir = await newTestDir(name);
    const data = pseudoRandomBytes(SIZE, Math.floor(Math.random() * 1e6));
    await writeFile(join(dir, 'disk.img'), data);
    const partPath = `/${name}/disk.img`;
    const partUrl = await origin.addFile(partPath, join(dir, 'disk.img'));
    origin.injectFaults(partPath, ...Array.from({ length: 20 }, () => ({ kind: 'slow' as const, bytesPerSecond: rate })));
    const xml = metadataXml([{ type: 'FILESYSTEM', sha1: sha1Hex(data), url: partUrl }]);
    return { url: origin.addBuffer(`/${name}/image.xml`, xml), guid: sha1Hex(xml), partPath, sha1: sha1Hex(data) };
  }

  /**
   * A fresh image published as a .torrent whose web seed is the origin (no tracker: the first host
   * uses the web seed at once). The origin paces each of the web seed's range requests (measured:
   * ~0.5 MiB/s in all, ~2 s a MiB), so the first host's BitTorrent download takes ~16 s: twice the
   * other hosts' stall timeout.
   */
  async function publishTorrent(name: string): Promise<{ url: string; guid: string; partPath: string; sha1: string }> {
    const dir = await newTestDir(name);
    const data = pseudoRandomBytes(SIZE, Math.floor(Math.random() * 1e6));
    await writeFile(join(dir, 'disk.img'), data);
    const partPath = `/${name}/disk.img`;
    const partUrl = await origin.addFile(partPath, join(dir, 'disk.img'));
    // 256 KiB pieces, one range request each.
    origin.injectFaults(partPath, ...Array.from({ length: 400 }, () => ({ kind: 'slow' as const, bytesPerSecond: 256 << 10 })));
    const torrent = await makeTorrent(join(dir, 'disk.img'), { webSeed: partUrl, out: join(dir, 'disk.torrent'), pieceLengthExp: 18 });
    const torrentUrl = await origin.addFile(`/${name}/disk.torrent`, torrent.path);
    const xml = metadataXml([{ type: 'FILESYSTEM', sha1: sha1Hex(data), url: torrentUrl }]);
    return { url: origin.addBuffer(`/${name}/image.xml`, xml), guid: sha1Hex(xml), partPath, sha1: sha1Hex(data) };
  }

  async function startHosts(name: string, peers: FleetHostOptions['peer'][], opts: Partial<FleetHostOptions> = {}): Promise<{ sites: string[]; tokenFile: string }> {
    const dir = await newTestDir(name);
    const tokenFile = await writeTokenFile(dir);
    const sites = peers.map((_, i) => uniqueName(`${name}${i + 1}`));
    hosts = await Promise.all(
      peers.map(async (peer, i) =>
        startFleetHost({
          started,
          workflowBundlePath: inject('workflowBundlePath'),
          site: sites[i]!,
          dataDir: await newTestDir(`${name}-host${i + 1}`),
          hostId: `${name}-host${i + 1}`,
          temporalAddress: inject('temporalAddress'),
          tokenFile,
          peer,
          ...opts,
        }),
      ),
    );
    return { sites, tokenFile };
  }

  const loopbackPeer = async (): Promise<{ listen: string }> => ({ listen: `127.0.0.1:${await freePort()}` });

  async function expectRegistered(result: DistributeImageResult, sha1: string): Promise<void> {
    expect(result.failed, JSON.stringify(result.sites)).toEqual([]);
    for (const outcome of result.sites) {
      if (!outcome.ok) continue;
      expect(createHash('sha1').update(await readFile(outcome.ids.FILESYSTEM!)).digest('hex')).toBe(sha1);
    }
  }

  const logsOf = async (host: FleetHost, msg: string): Promise<Record<string, unknown>[]> => (await host.logLines()).filter((l) => l.msg === msg);

  it('the origin sends the part about once to three sites; each host holds its own verified copy', async () => {
    const image = await publish(uniqueName('fleet-once'));
    const { sites } = await startHosts('once', [await loopbackPeer(), await loopbackPeer(), await loopbackPeer()], { metrics: true });
    const result = await world.client.distributeImage({ url: image.url, guid: image.guid, sites, coordinatorSite: sites[0]! });
    await expectRegistered(result, image.sha1);
    expect(origin.bytesSentOf(image.partPath)).toBeLessThanOrEqual(SIZE * 1.2);
    // The later hosts fetched from peers, each into its own cache.
    let fromPeers = 0;
    for (const host of hosts) {
      fromPeers += (await logsOf(host, 'part fetched from peers')).length;
      expect((await logsOf(host, 'part ready')).length).toBe(1);
    }
    expect(fromPeers).toBe(2);
    // So does the answer, per site: one host took the part from the origin, the others from peers.
    expect(result.sites.map((s) => (s.ok ? s.from?.FILESYSTEM : s.error)).sort()).toEqual(['origin', 'peers', 'peers']);
    // The metrics say the same: bytes went between hosts, and each later host took its copy from peers.
    const counter = async (host: FleetHost, pattern: RegExp): Promise<number> => {
      const text = await (await fetch(host.metricsUrl!)).text();
      return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    let served = 0;
    let fetchedFromPeers = 0;
    for (const host of hosts) {
      served += await counter(host, /^imageproxy_bytes_served_to_peers_total\{[^}]*\} (\d+)/gm);
      fetchedFromPeers += await counter(host, /^imageproxy_bytes_fetched_total\{[^}]*source="peer"[^}]*\} (\d+)/gm);
    }
    expect(fetchedFromPeers).toBeGreaterThanOrEqual(2 * SIZE);
    expect(served).toBeGreaterThanOrEqual(2 * SIZE);
  });

  it('a torrent-published part: the origin (web seed) sends it about once to three sites; the others take it from the first while it downloads', async () => {
    const image = await publishTorrent(uniqueName('fleet-torrent'));
    // A stall timeout half the first host's download, four times its time per MiB: hosts given
    // nothing until it completes give up; hosts given its verified pieces as they come do not.
    const { sites } = await startHosts('torrent', [await loopbackPeer(), await loopbackPeer(), await loopbackPeer()], { peerOptions: { stallTimeoutMs: 8000 } });
    const result = await world.client.distributeImage({ url: image.url, guid: image.guid, sites, coordinatorSite: sites[0]! });
    await expectRegistered(result, image.sha1);
    const fallbacks = (await Promise.all(hosts.map((h) => logsOf(h, 'falling back to the origin')))).flat();
    expect(origin.bytesSentOf(image.partPath), `fallbacks: ${JSON.stringify(fallbacks.map((f) => f.reason))}`).toBeLessThanOrEqual(SIZE * 1.2);
    expect(fallbacks.map((f) => f.reason)).toEqual([]);
    let fromPeers = 0;
    for (const host of hosts) fromPeers += (await logsOf(host, 'part fetched from peers')).length;
    expect(fromPeers).toBe(2);
  });

  it('a host without a peer section but with the deployment token beside its config fetches from peers', async () => {
    const image = await publish(uniqueName('fleet-nosection'));
    const { sites } = await startHosts('nosection', [await loopbackPeer(), await loopbackPeer(), 'none-with-token']);
    const result = await world.client.distributeImage({ url: image.url, guid: image.guid, sites, coordinatorSite: sites[0]! });
    await expectRegistered(result, image.sha1);
    const third = hosts[2]!;
    expect(await third.program.log()).toMatch(/no peer section in the config: parts come from peers/);
    expect((await logsOf(third, 'part fetched from peers')).length).toBe(1);
    expect(origin.bytesSentOf(image.partPath)).toBeLessThanOrEqual(SIZE * 1.2);
  });

  it('a peer serving corrupt bytes is dropped for the part, the bytes come from elsewhere, every site registers', async () => {
    const image = await publish(uniqueName('fleet-corrupt'));
    const badPort = await freePort();
    const proxy = await new CorruptingProxy({ host: '127.0.0.1', port: badPort }).start();
    cleanups.push(() => proxy.stop());
    const { sites } = await startHosts('corrupt', [{ listen: `127.0.0.1:${badPort}`, advertise: proxy.address }, await loopbackPeer(), await loopbackPeer()]);
    const result = await world.client.distributeImage({ url: image.url, guid: image.guid, sites, coordinatorSite: sites[0]! });
    await expectRegistered(result, image.sha1);
    expect(proxy.corrupted).toBeGreaterThan(0);
    const drops = (await Promise.all(hosts.slice(1).map((h) => logsOf(h, 'peer dropped for this part')))).flat();
    expect(drops.some((d) => d.peer === proxy.address && /does not match its hash/.test(String(d.reason))), JSON.stringify(drops)).toBe(true);
  });

  it('a peer host killed mid-distribution: the others finish from the rest or the origin, each site registers once; back, it resumes from peers', async () => {
    // Slower: the first host is still downloading once its heartbeat has told of 3 MiB.
    const image = await publish(uniqueName('fleet-kill'), ORIGIN_RATE / 2);
    const firstPeer = await loopbackPeer();
    const { sites, tokenFile } = await startHosts('kill', [firstPeer, await loopbackPeer(), await loopbackPeer()], { peerOptions: { stallTimeoutMs: 5000 } });
    const [first, second, third] = hosts as [FleetHost, FleetHost, FleetHost];
    const handle = await world.client.startDistribution({ url: image.url, guid: image.guid, sites, coordinatorSite: sites[1]!, siteTimeoutMs: 240_000 });
    await waitForLog(second, /fetching from peers/, 60_000);
    // Killed once Temporal has its heartbeat of 3 MiB or more (`status` reads it): the retry resumes from that.
    const heartbeated = async (): Promise<number> => (await world.client.getStatus(image.guid, sites[0]!))?.progress?.parts[0]?.bytesDone ?? 0;
    for (const until = Date.now() + 60_000; (await heartbeated()) < 3 << 20 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
    await first.program.stop('SIGKILL');
    // The other two finish without the killed host (its own site waits for it to come back).
    await waitForLog(second, /"msg":"registered"/, 120_000);
    await waitForLog(third, /"msg":"registered"/, 120_000);
    expect(await first.program.log()).not.toMatch(/"msg":"registered"/); // it was killed before its own registration
    // The killed host comes back (same data dir and host id, dialing peers only) and finishes its
    // own site: from the other two, keeping the whole pieces its origin download had written.
    const again = await startFleetHost({
      site: sites[0]!,
      dataDir: join(first.program.logPath, '..'),
      hostId: first.program.name,
      temporalAddress: inject('temporalAddress'),
      tokenFile,
      peer: 'none-with-token',
      workflowBundlePath: inject('workflowBundlePath'),
      started,
    }).catch(async (err: unknown) => {
      throw new Error(`restarting the killed host: ${(err as Error).message}`);
    });
    const result = await handle.result();
    await expectRegistered(result, image.sha1);
    // Each site registered exactly once (the restarted host writes the killed one's log anew).
    for (const host of [second, third, again]) expect((await logsOf(host, 'registered')).length).toBe(1);
    expect(result.sites.map((s) => s.ok && s.alreadyRegistered)).toEqual([false, false, false]);
    expect((await logsOf(again, 'resuming from the pieces kept by an earlier attempt')).length).toBe(1);
    const [fetched] = await logsOf(again, 'part fetched from peers');
    expect(fetched?.bytesResumed).toBeGreaterThanOrEqual(1 << 20);
  }, 300_000); // a worker start (bundling) and a heartbeat timeout more than the others

  it('a host without a peer section registers from the origin; one whose peers cannot be dialed falls back to the origin', async () => {
    const image = await publish(uniqueName('fleet-nopeer'));
    const deadPort = await freePort(); // nothing listens there
    const { sites } = await startHosts('nopeer', [{ listen: `127.0.0.1:${await freePort()}`, advertise: `127.0.0.1:${deadPort}` }, 'none', 'fetch-only']);
    const result = await world.client.distributeImage({ url: image.url, guid: image.guid, sites, coordinatorSite: sites[0]! });
    await expectRegistered(result, image.sha1);
    const [, withoutPeer, fetchOnly] = hosts as [FleetHost, FleetHost, FleetHost];
    expect(await withoutPeer.program.log()).toMatch(/no peer section in the config/);
    expect((await logsOf(withoutPeer, 'fetching from peers')).length).toBe(0);
    const drops = await logsOf(fetchOnly, 'peer dropped for this part');
    expect(drops.map((d) => d.peer)).toContain(`127.0.0.1:${deadPort}`);
    const fallbacks = await logsOf(fetchOnly, 'falling back to the origin');
    expect(fallbacks.map((f) => f.reason)).toEqual(['no peer left to ask']);
  });
});
