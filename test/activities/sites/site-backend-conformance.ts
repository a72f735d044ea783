/**
 * One conformance suite for every `SiteBackend` (as unstorage tests every driver with one suite):
 * register, lookup, idempotent re-register, deregister, and a failure that leaves nothing behind.
 * Each backend's test file calls `describeSiteBackendConformance` with a harness for its world.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedPart, ImageIds } from '../../../common/image-types.js';
import type { RegisterRequest, SiteBackend } from '../../../activities/sites/site-backend.js';
import { writePart } from '../../support/cached-parts.js';
import { newTestDir } from '../../support/image-proxy-world.js';

export interface SiteBackendHarness {
  backend: SiteBackend;
  /**
   * What the site holds that a test should not find after a failure or deregistration (the
   * backend's own view of "anything of ours": files, images, objects), as readable strings.
   */
  leftovers(): Promise<string[]>;
  dispose?(): Promise<void>;
}

export function describeSiteBackendConformance(name: string, start: (dir: string) => Promise<SiteBackendHarness>): void {
  describe(`SiteBackend conformance: ${name}`, () => {
    let dir: string;
    let harness: SiteBackendHarness;
    let n = 0;
    const newGuid = (): string => `${Date.now().toString(16)}${(++n).toString(16)}`.padEnd(40, 'c').slice(0, 40);
    const rawImageOf = async (p: CachedPart): Promise<string> => p.path;
    const request = (guid: string, parts: CachedPart[]): RegisterRequest => ({
      guid,
      metadataUrl: `http://origin.invalid/${guid}.xml`,
      parts,
      rawImageOf,
    });

    beforeAll(async () => {
      dir = await newTestDir(`conformance-${name}`);
      harness = await start(dir);
    });
    afterAll(async () => {
      await harness?.backend.close?.();
      await harness?.dispose?.();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function threeParts(): Promise<CachedPart[]> {
      return [
        await writePart(dir, 'FILESYSTEM', 2 << 20, { zeros: 1 << 20 }),
        await writePart(dir, 'KERNEL', 1 << 19),
        await writePart(dir, 'RAMDISK', 1 << 19),
      ];
    }

    it('register answers an id per part, and lookup finds exactly that', async () => {
      const guid = newGuid();
      expect(await harness.backend.lookup(guid)).toBeUndefined();
      const ids = await harness.backend.register(request(guid, await threeParts()));
      expect(Object.keys(ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
      for (const id of Object.values(ids)) expect(id).toMatch(/\S/);
      expect(await harness.backend.lookup(guid)).toEqual(ids);
      await harness.backend.deregister(guid);
    });

    it('registering again answers the same ids', async () => {
      const guid = newGuid();
      const parts = await threeParts();
      const first: ImageIds = await harness.backend.register(request(guid, parts));
      const again = await harness.backend.register(request(guid, parts));
      expect(again).toEqual(first);
      await harness.backend.deregister(guid);
    });

    it('deregister removes everything, and is not an error twice or for an unknown GUID', async () => {
      const guid = newGuid();
      await harness.backend.register(request(guid, await threeParts()));
      await harness.backend.deregister(guid);
      expect(await harness.backend.lookup(guid)).toBeUndefined();
      expect(await harness.leftovers()).toEqual([]);
      await harness.backend.deregister(guid);
      await harness.backend.deregister(newGuid());
    });

    it('a registration that fails part-way leaves nothing, and a later one succeeds', async () => {
      const guid = newGuid();
      const [fs, kernel, ramdisk] = await threeParts();
      const missing: CachedPart = { ...fs!, path: join(dir, 'gone.img') };
      await expect(harness.backend.register(request(guid, [kernel!, ramdisk!, missing]))).rejects.toThrow();
      expect(await harness.backend.lookup(guid)).toBeUndefined();
      expect(await harness.leftovers()).toEqual([]);
      const ids = await harness.backend.register(request(guid, [kernel!, ramdisk!, fs!]));
      expect(await harness.backend.lookup(guid)).toEqual(ids);
      await harness.backend.deregister(guid);
      expect(await harness.leftovers()).toEqual([]);
    });
  });
}
