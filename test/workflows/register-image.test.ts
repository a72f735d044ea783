/**
 * The vertical slice against real parts: a Temporal dev server, in-process workers of a `local`
 * site, a real HTTP origin and real files.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationFailedError, InvalidRequestError } from '../../client/image-proxy-client.js';
import { HttpOrigin } from '../support/http-origin.js';
import { cacheDirOf, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

const sha1 = async (file: string): Promise<string> => createHash('sha1').update(await readFile(file)).digest('hex');

describe('registerImage on a local site', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('local');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  /** Files left in the cache's partial area, and anything in the site dir that is not a published image. */
  async function leftovers(): Promise<string[]> {
    const partial = await readdir(join(cacheDirOf(world), '.partial')).catch(() => []);
    const siteDir = await readdir(join(world.dataDir, 'sites', site)).catch(() => [] as string[]);
    return [...partial.map((f) => `partial/${f}`), ...siteDir.filter((f) => f.startsWith('.'))];
  }

  it('registers filesystem, kernel and ramdisk; the published files are the sources, byte for byte', async () => {
    const image = await publishSampleImage(origin);
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(result.alreadyRegistered).toBe(false);
    expect(Object.keys(result.ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
    for (const part of image.parts) {
      const published = result.ids[part.type as 'FILESYSTEM' | 'KERNEL' | 'RAMDISK']!;
      expect(published).toBe(join(world.dataDir, 'sites', site, image.guid, part.type));
      expect(await sha1(published)).toBe(part.sha1);
    }

    // Asked again: the same ids, and no part fetched again.
    const before = image.parts.map((p) => origin.requestsOf(p.urlPath));
    const again = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(again.ids).toEqual(result.ids);
    expect(again.alreadyRegistered).toBe(true);
    expect(image.parts.map((p) => origin.requestsOf(p.urlPath))).toEqual(before);
  });

  it('50 concurrent callers share one run: each part fetched once, everyone gets the same ids', async () => {
    const image = await publishSampleImage(origin);
    origin.injectFaults(image.parts[0]!.urlPath, { kind: 'delay', ms: 500 }); // keep the run open while callers pile in
    const results = await Promise.all(
      Array.from({ length: 50 }, () => world.client.registerImage({ url: image.url, guid: image.guid, site })),
    );
    for (const part of image.parts) expect(origin.requestsOf(part.urlPath)).toBe(1);
    expect(origin.requestsOf(new URL(image.url).pathname)).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r.ids))).size).toBe(1);
    const runs = await world.client.list({ guid: image.guid, site });
    expect(runs).toHaveLength(1);
  });

  it('republishes an image whose files were removed at the site behind its back', async () => {
    const image = await publishSampleImage(origin);
    const first = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    await rm(first.ids.KERNEL!);
    const second = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(second.alreadyRegistered).toBe(false);
    expect(second.ids).toEqual(first.ids);
    const kernel = image.parts.find((p) => p.type === 'KERNEL')!;
    expect(await sha1(second.ids.KERNEL!)).toBe(kernel.sha1);
  });

  it('rejects a malformed GUID before any I/O', async () => {
    const requests = origin.log.length;
    await expect(world.client.registerImage({ url: `${origin.baseUrl}/x.xml`, guid: '../../etc/passwd', site })).rejects.toThrow(
      InvalidRequestError,
    );
    await expect(world.client.registerImage({ url: `${origin.baseUrl}/x.xml`, guid: 'a'.repeat(39), site })).rejects.toThrow(/40-hex-digit SHA-1/);
    // Upper case is not malformed: every front lower-cases it (test/client/guid-rule.test.ts).
    expect(origin.log.length).toBe(requests);
  });

  const badCases: { name: string; expected: RegExp; make: () => Promise<{ url: string; guid: string; fix: () => Promise<{ url: string; guid: string }> }> }[] = [
    {
      name: 'metadata whose SHA-1 is not the GUID',
      expected: /has SHA-1 [0-9a-f]{40}, not the GUID/,
      async make() {
        const image = await publishSampleImage(origin);
        const wrong = createHash('sha1').update(image.metadata + ' ').digest('hex');
        // The same URL under the wrong GUID; then the correct GUID for the fix.
        return { url: image.url, guid: wrong, fix: async () => image };
      },
    },
    {
      name: 'a part whose hash does not match',
      expected: /KERNEL part .*sha1 of the \d+ bytes received is [0-9a-f]{40}, the metadata says/,
      async make() {
        const bad = await publishSampleImage(origin, {
          editMetadata: (xml) => xml.replace(/(<type>KERNEL<\/type>\s*<signature>)[0-9a-f]{40}/, `$1${'f'.repeat(40)}`),
        });
        return { url: bad.url, guid: bad.guid, fix: () => publishSampleImage(origin) };
      },
    },
    {
      name: 'a truncated part (fewer bytes than the signature covers)',
      expected: /FILESYSTEM part .*of the \d+ bytes received/,
      async make() {
        const image = await publishSampleImage(origin);
        const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
        const truncated = (await readFile(fs.path)).subarray(0, fs.size - 4096);
        origin.addBuffer(fs.urlPath, truncated);
        return {
          url: image.url,
          guid: image.guid,
          fix: async () => {
            await origin.addFile(fs.urlPath, fs.path);
            return image;
          },
        };
      },
    },
    {
      name: 'metadata with a DOCTYPE and an external entity',
      expected: /must not contain a DOCTYPE/,
      async make() {
        const image = await publishSampleImage(origin, {
          editMetadata: (xml) => xml.replace('<images>', '<!DOCTYPE images [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<images>&x;'),
        });
        return { url: image.url, guid: image.guid, fix: () => publishSampleImage(origin) };
      },
    },
    {
      name: 'an unknown type',
      expected: /<image> #2: unknown type "VMLINUZ"/,
      async make() {
        const image = await publishSampleImage(origin, { editMetadata: (xml) => xml.replace('<type>KERNEL</type>', '<type>VMLINUZ</type>') });
        return { url: image.url, guid: image.guid, fix: () => publishSampleImage(origin) };
      },
    },
    {
      name: 'a missing url',
      expected: /<image> #3: missing <url>/,
      async make() {
        const image = await publishSampleImage(origin, { editMetadata: (xml) => xml.replace(/(<type>RAMDISK<\/type>[\s\S]*?)<url>[^<]*<\/url>/, '$1') });
        return { url: image.url, guid: image.guid, fix: () => publishSampleImage(origin) };
      },
    },
  ];

  for (const bad of badCases) {
    it(`fails clearly and leaves nothing on ${bad.name}; a correct request then succeeds`, async () => {
      const { url, guid, fix } = await bad.make();
      const started = Date.now();
      const err = await world.client.registerImage({ url, guid, site }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RegistrationFailedError);
      expect((err as Error).message).toMatch(bad.expected);
      expect(Date.now() - started).toBeLessThan(15_000); // not retried for minutes
      expect(await leftovers()).toEqual([]);
      await expect(readdir(join(world.dataDir, 'sites', site, guid))).rejects.toThrow(/ENOENT/);

      const good = await fix();
      const result = await world.client.registerImage({ url: good.url, guid: good.guid, site });
      expect(result.ids.FILESYSTEM).toBeDefined();
    });
  }

  it('answers a progress query while parts download', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 3 << 20, KERNEL: 256 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 512 << 10 });
    const handle = await world.client.start({ url: image.url, guid: image.guid, site });
    await expect
      .poll(
        async () => {
          const status = await world.client.getStatus(image.guid, site);
          const part = status?.progress?.parts.find((p) => p.type === 'FILESYSTEM');
          return status?.stage === 'download' && part !== undefined && part.bytesDone > 0 && part.bytesDone < fs.size && part.bytesTotal === fs.size;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    const result = await handle.result();
    expect(result.ids.FILESYSTEM).toBeDefined();
    const done = await world.client.getStatus(image.guid, site);
    expect(done).toMatchObject({ status: 'COMPLETED', stage: 'done', ids: result.ids });
  });

  it('exposes stage and search attributes to Temporal visibility', async () => {
    const image = await publishSampleImage(origin);
    await world.client.registerImage({ url: image.url, guid: image.guid, site });
    const status = await world.client.getStatus(image.guid, site);
    expect(status).toMatchObject({ status: 'COMPLETED', stage: 'done', guid: image.guid, site });
    // Visibility is eventually consistent.
    await expect.poll(async () => (await world.client.list({ guid: image.guid }))[0]?.stage, { timeout: 10_000 }).toBe('done');
  });
});
