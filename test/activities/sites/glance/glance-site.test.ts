/**
 * The glance backend against a real Glance API (Debian glance-api, no auth, file store), one per
 * file. What a user would check with `openstack image show`: images active, linked, tagged,
 * Glance's multihash equal to the file's, the data read back byte-identical; idempotence from
 * the requests that went over the wire (a recording proxy in front of Glance).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedPart } from '../../../../common/image-types.js';
import { ErrorType, ImageProxyError } from '../../../../common/errors.js';
import type { RegisterRequest } from '../../../../activities/sites/site-backend.js';
import type { GlanceSite } from '../../../../activities/sites/glance/glance-site.js';
import { glanceImageNameOf, guidTag, partHashValue } from '../../../../activities/sites/glance/glance-image-fields.js';
import { writePart } from '../../../support/cached-parts.js';
import { startGlanceServer, type GlanceServer } from '../../../support/glance-server.js';
import { newTestDir } from '../../../support/image-proxy-world.js';
import { startRecordingProxy, type RecordingProxy } from '../../../support/recording-proxy.js';
import { glanceReader, glanceSite, qcow2PartFrom, sha512Of } from './glance-fixture.js';

let nextGuid = Math.floor(Math.random() * 1e6);
const newGuid = (): string => `${Date.now().toString(16).padStart(12, '0')}${(nextGuid++).toString(16).padStart(28, '0')}`;
const request = (guid: string, parts: CachedPart[]): RegisterRequest => ({ guid, metadataUrl: `http://origin.invalid/${guid}.xml`, parts, rawImageOf: async (p) => p.path });
const uploads = (proxy: RecordingProxy, from = 0): string[] => proxy.requests.slice(from).filter((r) => /^PUT \/v2\/images\/[^/]+\/file$/.test(r));

describe('glance site against a real Glance API', () => {
  let dir: string;
  let glance: GlanceServer;
  let proxy: RecordingProxy;
  let site: GlanceSite;
  let reader: ReturnType<typeof glanceReader>;

  beforeAll(async () => {
    dir = await newTestDir('glance-site');
    glance = await startGlanceServer(join(dir, 'glance'));
    proxy = await startRecordingProxy(glance.url);
    site = await glanceSite(dir, { noAuth: true, imageUrl: proxy.url, visibility: 'shared', properties: { hw_disk_bus: 'virtio', os_distro: 'debian' } });
    reader = glanceReader(glance.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await glance?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers FILESYSTEM, KERNEL and RAMDISK: active, linked, tagged, multihash equal, data identical', async () => {
    const guid = newGuid();
    const parts = [await writePart(dir, 'FILESYSTEM', 3 << 20, { zeros: 1 << 20 }), await writePart(dir, 'KERNEL', 1 << 19), await writePart(dir, 'RAMDISK', 1 << 19)];
    const ids = await site.register(request(guid, parts));
    expect(Object.keys(ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
    const [fs, kernel, ramdisk] = parts as [CachedPart, CachedPart, CachedPart];
    const expected = [
      [ids.FILESYSTEM!, fs, 'raw', 'bare'],
      [ids.KERNEL!, kernel, 'aki', 'aki'],
      [ids.RAMDISK!, ramdisk, 'ari', 'ari'],
    ] as const;
    for (const [id, part, disk, container] of expected) {
      const image = (await reader.image(id))!;
      expect(image).toMatchObject({ status: 'active', disk_format: disk, container_format: container, visibility: 'shared', hw_disk_bus: 'virtio', os_distro: 'debian' });
      expect(image.tags).toContain(`imageproxy:guid:${guid}`);
      expect(image[`imageproxy_guid_${guid}`]).toBe(`FILESYSTEM=${ids.FILESYSTEM},KERNEL=${ids.KERNEL},RAMDISK=${ids.RAMDISK}`);
      expect(image.os_hash_algo).toBe('sha512');
      expect(image.os_hash_value).toBe(await sha512Of(part.path));
      expect((await reader.data(id)).equals(await readFile(part.path))).toBe(true);
    }
    const machine = (await reader.image(ids.FILESYSTEM!))!;
    expect(machine).toMatchObject({ kernel_id: ids.KERNEL, ramdisk_id: ids.RAMDISK });
    expect(machine.name).toBe(glanceImageNameOf(fs, { kernelId: ids.KERNEL!, ramdiskId: ids.RAMDISK! }));
    expect(await site.lookup(guid)).toEqual(ids);
  });

  it('registers a QCOW2 image as qcow2, as downloaded', async () => {
    const guid = newGuid();
    const qcow2 = await qcow2PartFrom(await writePart(dir, 'FILESYSTEM', 2 << 20, { zeros: 1 << 20 }));
    const ids = await site.register(request(guid, [qcow2]));
    expect(Object.keys(ids)).toEqual(['QCOW2']);
    const image = (await reader.image(ids.QCOW2!))!;
    expect(image).toMatchObject({ status: 'active', disk_format: 'qcow2', container_format: 'bare', os_hash_value: await sha512Of(qcow2.path) });
    expect(image.kernel_id).toBeUndefined();
    expect((await reader.data(ids.QCOW2!)).length).toBe(qcow2.size);
  });

  it('a second request answers the same ids and uploads nothing', async () => {
    const guid = newGuid();
    const parts = [await writePart(dir, 'FILESYSTEM', 1 << 20), await writePart(dir, 'KERNEL', 1 << 18), await writePart(dir, 'RAMDISK', 1 << 18)];
    const first = await site.register(request(guid, parts));
    const mark = proxy.requests.length;
    expect(await site.register(request(guid, parts))).toEqual(first);
    expect(uploads(proxy, mark)).toEqual([]);
    expect(proxy.requests.slice(mark).filter((r) => !r.startsWith('GET '))).toEqual([]);
  });

  it('an image deleted at Glance behind our back is registered again; its kernel and ramdisk are kept', async () => {
    const guid = newGuid();
    const parts = [await writePart(dir, 'FILESYSTEM', 1 << 20), await writePart(dir, 'KERNEL', 1 << 18), await writePart(dir, 'RAMDISK', 1 << 18)];
    const first = await site.register(request(guid, parts));
    await reader.remove(first.FILESYSTEM!);
    expect(await site.lookup(guid)).toBeUndefined();
    const mark = proxy.requests.length;
    const again = await site.register(request(guid, parts));
    expect(again.KERNEL).toBe(first.KERNEL);
    expect(again.RAMDISK).toBe(first.RAMDISK);
    expect(again.FILESYSTEM).not.toBe(first.FILESYSTEM);
    expect(uploads(proxy, mark)).toEqual([`PUT /v2/images/${again.FILESYSTEM}/file`]);
    expect((await reader.image(again.FILESYSTEM!))?.status).toBe('active');
  });

  it('an image removed during its upload by another attempt (a second GUID sharing the part): the registration makes it again and succeeds', async () => {
    // Bodies at 1 MiB/s: the 2 MiB upload is still running when the image is removed under it.
    const slowProxy = await startRecordingProxy(glance.url, { bodyBytesPerSecond: 1 << 20 });
    try {
      const slowSite = await glanceSite(dir, { noAuth: true, imageUrl: slowProxy.url });
      const kernel = await writePart(dir, 'KERNEL', 2 << 20);
      const name = glanceImageNameOf(kernel, {});
      const registering = slowSite.register(request(newGuid(), [kernel]));
      let removed: string | undefined;
      for (let i = 0; i < 100 && !removed; i++) {
        const saving = (await reader.images({ name })).find((img) => img.status === 'saving');
        if (saving) await reader.remove((removed = saving.id));
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(removed).toBeDefined();
      const ids = await registering;
      expect(ids.KERNEL).not.toBe(removed);
      const left = await reader.images({ name });
      expect(left.map((img) => [img.id, img.status])).toEqual([[ids.KERNEL, 'active']]);
    } finally {
      await slowProxy.stop();
    }
  });

  it("a second GUID's tag on a shared kernel undone by a concurrent write (Glance saves whole images) is put back, so deregistering the first GUID keeps the kernel", async () => {
    const [a, b] = [newGuid(), newGuid()];
    const kernel = await writePart(dir, 'KERNEL', 1 << 18);
    const idsA = await site.register(request(a, [await writePart(dir, 'FILESYSTEM', 1 << 20), kernel]));
    const registeringB = site.register(request(b, [await writePart(dir, 'FILESYSTEM', 1 << 20), kernel]));
    // As soon as B's tag is on the shared kernel, a write begun before it lands and drops it.
    let undone = false;
    for (let i = 0; i < 400 && !undone; i++) {
      if ((await reader.image(idsA.KERNEL!))?.tags.includes(guidTag(b))) {
        await reader.removeTag(idsA.KERNEL!, guidTag(b));
        undone = true;
      } else await new Promise((r) => setTimeout(r, 25));
    }
    expect(undone).toBe(true);
    const idsB = await registeringB;
    expect(idsB.KERNEL).toBe(idsA.KERNEL);
    expect((await reader.image(idsA.KERNEL!))?.tags).toContain(guidTag(b));
    await site.deregister(a);
    expect(await site.lookup(b)).toEqual(idsB);
    expect((await reader.image(idsB.KERNEL!))?.status).toBe('active');
    await site.deregister(b);
  });

  it('adopts an image a crashed attempt left queued instead of making a second one', async () => {
    const guid = newGuid();
    const fs = await writePart(dir, 'FILESYSTEM', 1 << 20);
    const name = glanceImageNameOf(fs);
    // What an attempt killed between create and upload leaves behind.
    const leftover = await reader.create({ name, disk_format: 'raw', container_format: 'bare', imageproxy_part_hash: partHashValue(fs), tags: ['imageproxy'] });
    expect(leftover.status).toBe('queued');
    const ids = await site.register(request(guid, [fs]));
    expect(ids.FILESYSTEM).toBe(leftover.id);
    const named = await reader.images({ name });
    expect(named.map((i) => [i.id, i.status])).toEqual([[leftover.id, 'active']]);
  });

  it('deregister keeps a kernel another GUID still uses, and removes the rest', async () => {
    const [a, b] = [newGuid(), newGuid()];
    const kernel = await writePart(dir, 'KERNEL', 1 << 18);
    const idsA = await site.register(request(a, [await writePart(dir, 'FILESYSTEM', 1 << 20), kernel]));
    const idsB = await site.register(request(b, [await writePart(dir, 'FILESYSTEM', 1 << 20), kernel]));
    expect(idsB.KERNEL).toBe(idsA.KERNEL);
    await site.deregister(a);
    expect(await site.lookup(a)).toBeUndefined();
    expect(await reader.image(idsA.FILESYSTEM!)).toBeUndefined();
    const sharedKernel = (await reader.image(idsA.KERNEL!))!;
    expect(sharedKernel.tags).not.toContain(`imageproxy:guid:${a}`);
    expect(sharedKernel[`imageproxy_guid_${a}`]).toBeUndefined();
    expect(await site.lookup(b)).toEqual(idsB);
    await site.deregister(b);
    expect(await reader.image(idsA.KERNEL!)).toBeUndefined();
    await site.deregister(b);
  });

  it('clean-up: lists what it registered, records requests, and never calls an image unused on doubt', async () => {
    const guid = newGuid();
    const ids = await site.register(request(guid, [await writePart(dir, 'FILESYSTEM', 1 << 19)]));
    const listed = (await site.listImages!()).find((i) => i.guid === guid);
    expect(listed?.ids).toEqual(ids);
    const later = new Date(Date.now() + 3_600_000);
    await site.markRequested!(guid, later);
    expect((await site.listImages!()).find((i) => i.guid === guid)?.lastRequestedAt.toISOString()).toBe(later.toISOString());
    expect(await site.inUse!(guid)).toBe(true); // Glance cannot see instances: in use unless the operator says otherwise
    const vouched = await glanceSite(dir, { noAuth: true, imageUrl: glance.url, imagesInUse: 'never' });
    expect(await vouched.inUse!(guid)).toBe(false);
    await site.deregister(guid);
    expect((await site.listImages!()).find((i) => i.guid === guid)).toBeUndefined();
  });

  it('a registration that fails part-way leaves nothing (not even a queued image)', async () => {
    const guid = newGuid();
    const kernel = await writePart(dir, 'KERNEL', 1 << 18);
    const fs = await writePart(dir, 'FILESYSTEM', 1 << 19);
    const before = (await reader.images()).length;
    await expect(site.register(request(guid, [kernel, { ...fs, path: join(dir, 'gone.img') }]))).rejects.toThrow(/gone\.img/);
    expect((await reader.images()).length).toBe(before);
    expect(await site.lookup(guid)).toBeUndefined();
  });

  it('Glance down: a retryable SiteUnavailable naming the site; works again once Glance is back', async () => {
    const guid = newGuid();
    const fs = await writePart(dir, 'FILESYSTEM', 1 << 19);
    await glance.stop();
    try {
      const err = await site.register(request(guid, [fs])).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ImageProxyError);
      expect(err).toMatchObject({ type: ErrorType.SiteUnavailable, nonRetryable: false });
      expect((err as Error).message).toMatch(new RegExp(`glance site ${site.site}: .*could not be reached|answered 50[23]`));
    } finally {
      await glance.start();
    }
    const ids = await site.register(request(guid, [fs]));
    expect((await reader.image(ids.FILESYSTEM!))?.status).toBe('active');
  });
});
