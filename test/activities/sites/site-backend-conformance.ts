/**
 * One conformance suite for every `SiteBackend` (as unstorage tests every driver with one suite):
 * register, lookup, idempotent re-register, deregister, a failure that leaves nothing behind, two
 * GUIDs sharing a part at once, a register interrupted mid-way then retried, and the clean-up
 * capabilities where the backend has them. Adding a backend = one harness file beside the others
 * (`<backend>-harness.ts`), listed in site-backend-conformance.test.ts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedPart, ImageIds } from '../../../common/image-types.js';
import type { RegisterRequest, SiteBackend } from '../../../activities/sites/site-backend.js';
import { newTestDir } from '../../support/image-proxy-world.js';

export interface SiteBackendHarness {
  backend: SiteBackend;
  /** A fresh, valid set of parts for this backend (new content each call), written under `dir`. */
  parts(dir: string): Promise<CachedPart[]>;
  /**
   * What the site holds that a test should not find after a failure or deregistration (the
   * backend's own view of "anything of ours": files, images, objects), as readable strings.
   */
  leftovers(): Promise<string[]>;
  dispose?(): Promise<void>;
}

export interface SiteBackendHarnessFactory {
  name: string;
  start(dir: string): Promise<SiteBackendHarness>;
}

export function describeSiteBackendConformance({ name, start }: SiteBackendHarnessFactory): void {
  describe(`SiteBackend conformance: ${name}`, () => {
    let dir: string;
    let harness: SiteBackendHarness;
    let n = 0;
    const newGuid = (): string => `${Date.now().toString(16)}${(++n).toString(16)}`.padEnd(40, 'c').slice(0, 40);
    const rawImageOf = async (p: CachedPart): Promise<string> => p.path;
    const request = (guid: string, parts: CachedPart[], signal?: AbortSignal): RegisterRequest => ({
      guid,
      metadataUrl: `http://origin.invalid/${guid}.xml`,
      parts,
      rawImageOf,
      ...(signal ? { signal } : {}),
    });

    beforeAll(async () => {
      dir = await newTestDir(`conformance-${name.replace(/\W+/g, '-')}`);
      harness = await start(dir);
    });
    afterAll(async () => {
      await harness?.backend.close?.();
      await harness?.dispose?.();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const parts = (): Promise<CachedPart[]> => harness.parts(dir);
    /** The GUIDs the backend lists (for backends with the clean-up's listImages). */
    const listed = async (guid: string): Promise<number | undefined> =>
      harness.backend.listImages ? (await harness.backend.listImages()).filter((i) => i.guid === guid).length : undefined;

    it('register answers an id per part, and lookup finds exactly that', async () => {
      const guid = newGuid();
      expect(await harness.backend.lookup(guid)).toBeUndefined();
      const ids = await harness.backend.register(request(guid, await parts()));
      expect(Object.keys(ids).length).toBeGreaterThan(0);
      for (const id of Object.values(ids)) expect(id).toMatch(/\S/);
      expect(await harness.backend.lookup(guid)).toEqual(ids);
      await harness.backend.deregister(guid);
    });

    it('registering again answers the same ids', async () => {
      const guid = newGuid();
      const same = await parts();
      const first: ImageIds = await harness.backend.register(request(guid, same));
      const again = await harness.backend.register(request(guid, same));
      expect(again).toEqual(first);
      await harness.backend.deregister(guid);
    });

    it('deregister removes everything, and is not an error twice or for an unknown GUID', async () => {
      const guid = newGuid();
      await harness.backend.register(request(guid, await parts()));
      await harness.backend.deregister(guid);
      expect(await harness.backend.lookup(guid)).toBeUndefined();
      expect(await harness.leftovers()).toEqual([]);
      await harness.backend.deregister(guid);
      await harness.backend.deregister(newGuid());
    });

    it('a registration that fails part-way leaves nothing, and a later one succeeds', async () => {
      const guid = newGuid();
      const good = await parts();
      // The filesystem's file is gone (last, so the other parts may have been handled first).
      const fs = good.find((p) => p.type === 'FILESYSTEM' || p.type === 'ZFILESYSTEM')!;
      const broken = [...good.filter((p) => p !== fs), { ...fs, path: join(dir, 'gone.img') }];
      // The last attempt (a failure no retry follows): what it made must go (SiteBackend.register).
      await expect(harness.backend.register({ ...request(guid, broken), isFinal: () => true })).rejects.toThrow();
      expect(await harness.backend.lookup(guid)).toBeUndefined();
      expect(await harness.leftovers()).toEqual([]);
      const ids = await harness.backend.register(request(guid, good));
      expect(await harness.backend.lookup(guid)).toEqual(ids);
      await harness.backend.deregister(guid);
      expect(await harness.leftovers()).toEqual([]);
    });

    it('two GUIDs sharing the same parts, registered at once, each get an image; removing one keeps the other', async () => {
      const [a, b] = [newGuid(), newGuid()];
      const shared = await parts();
      const [idsA, idsB] = await Promise.all([harness.backend.register(request(a, shared)), harness.backend.register(request(b, shared))]);
      expect(await harness.backend.lookup(a)).toEqual(idsA);
      expect(await harness.backend.lookup(b)).toEqual(idsB);
      await harness.backend.deregister(a);
      expect(await harness.backend.lookup(a)).toBeUndefined();
      expect(await harness.backend.lookup(b)).toEqual(idsB);
      await harness.backend.deregister(b);
      expect(await harness.leftovers()).toEqual([]);
    });

    it('a registration interrupted mid-way (its signal aborted), then retried, ends with exactly one image', async () => {
      const guid = newGuid();
      const same = await parts();
      const abort = new AbortController();
      // Aborted at its first progress report, or shortly after it started if it reports none.
      const timer = setTimeout(() => abort.abort(new Error('interrupted by the test')), 20);
      const interrupted = { ...request(guid, same, abort.signal), onProgress: () => abort.abort(new Error('interrupted by the test')) };
      await harness.backend.register(interrupted).catch(() => undefined); // either way: the retry must finish it
      clearTimeout(timer);
      const ids = await harness.backend.register(request(guid, same));
      expect(await harness.backend.lookup(guid)).toEqual(ids);
      const count = await listed(guid);
      if (count !== undefined) expect(count).toBe(1);
      await harness.backend.deregister(guid);
      expect(await harness.leftovers()).toEqual([]);
    });

    it('the clean-up capabilities come together and tell the truth', async () => {
      const { backend } = harness;
      const capabilities = [backend.listImages, backend.markRequested, backend.inUse].filter(Boolean).length;
      // A site is cleaned only with all three; a partial set would be a half-working clean-up.
      expect([0, 3]).toContain(capabilities);
      if (capabilities === 0) return;
      const guid = newGuid();
      const before = Date.now();
      const ids = await backend.register(request(guid, await parts()));
      const image = (await backend.listImages!()).find((i) => i.guid === guid);
      expect(image).toMatchObject({ guid, ids });
      expect(image!.registeredAt.getTime()).toBeGreaterThanOrEqual(before - 2000); // clocks in whole seconds
      const later = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000); // whole seconds: some sites keep no more
      await backend.markRequested!(guid, later);
      const marked = (await backend.listImages!()).find((i) => i.guid === guid);
      expect(marked!.lastRequestedAt.getTime()).toBe(later.getTime());
      expect(await backend.inUse!(guid)).toBe(false);
      await backend.deregister(guid);
      expect((await backend.listImages!()).map((i) => i.guid)).not.toContain(guid);
      expect(await harness.leftovers()).toEqual([]);
    });
  });
}
