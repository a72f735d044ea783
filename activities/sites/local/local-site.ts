/**
 * The `local` site: publishes verified parts into a directory, `<dir>/<guid>/<KEY>` (copies of the
 * cache's files: reflinks where supported, else written past the page cache), for a PXE or KVM
 * host that boots from files.
 * The ids are the absolute paths. `<dir>/<guid>/image.json`, written last, marks a complete image.
 *
 * For the clean-up: `<dir>/<guid>/requested.json` holds the time of the last request, and an image
 * is in use while `<dir>/<guid>/in-use/` holds any entry. ImageProxy cannot see the boot hosts that
 * read these files, so they say so themselves: a consumer creates `in-use/<its name>` while it uses
 * the image (a file the clean-up can check, unlike an open file handle on another host).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { idKeyOf, type IdKey, type ImageIds } from '../../../common/image-types.js';
import { isGuid } from '../../../common/guid.js';
import { copyWithDirectWrites } from '../../files/copy-with-direct-writes.js';
import { SCRATCH_OWNER, sweepScratch } from '../../files/scratch-owner.js';
import type { RegisteredImage, RegisterRequest, SiteBackend } from '../site-backend.js';

export const LOCAL_SITE_TYPE = 'local';

export interface LocalSiteOptions {
  site: string;
  /** Directory the images are published into. */
  dir: string;
}

/** What `image.json` records for each published file. */
interface PublishedImage {
  guid: string;
  metadataUrl: string;
  /** ISO time of registration (absent in images published before it was recorded). */
  registeredAt?: string;
  files: Partial<Record<IdKey, { path: string; size: number; hash: string }>>;
}

const MARKER = 'image.json';
const REQUESTED = 'requested.json';
const IN_USE = 'in-use';

export function createLocalSite({ site, dir }: LocalSiteOptions): SiteBackend {
  const imageDir = (guid: string): string => join(dir, guid);

  async function lookup(guid: string): Promise<ImageIds | undefined> {
    let record: PublishedImage;
    try {
      record = JSON.parse(await readFile(join(imageDir(guid), MARKER), 'utf8')) as PublishedImage;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const ids: ImageIds = {};
    for (const [key, file] of Object.entries(record.files) as [IdKey, { path: string; size: number }][]) {
      const size = await stat(file.path).then((s) => s.size, () => -1);
      if (size !== file.size) return undefined; // removed or changed behind our back
      ids[key] = file.path;
    }
    return ids;
  }

  async function register({ guid, metadataUrl, parts, rawImageOf }: RegisterRequest): Promise<ImageIds> {
    const existing = await lookup(guid);
    if (existing) return existing;
    await mkdir(dir, { recursive: true });
    // Staging of a worker killed mid-publish carries its process in the name: gone, it is removed.
    await sweepScratch(dir, 1);
    const staging = join(dir, `.staging-${guid}-${SCRATCH_OWNER}-${randomBytes(4).toString('hex')}`);
    const final = imageDir(guid);
    try {
      await mkdir(staging);
      const record: PublishedImage = { guid, metadataUrl, registeredAt: new Date().toISOString(), files: {} };
      for (const part of parts) {
        const key = idKeyOf(part.type);
        // A compressed filesystem is published as the raw image it holds.
        const source = part.type === 'ZFILESYSTEM' ? await rawImageOf(part) : part.path;
        await publishCopy(source, join(staging, key));
        const { size } = await stat(source);
        record.files[key] = { path: join(final, key), size, hash: `${part.hash.algorithm}:${part.hash.hex}` };
      }
      await writeFile(join(staging, MARKER), JSON.stringify(record, null, 2));
      await rm(final, { recursive: true, force: true }); // an incomplete earlier image
      await rename(staging, final);
      return Object.fromEntries(Object.entries(record.files).map(([k, f]) => [k, f.path])) as ImageIds;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async function deregister(guid: string): Promise<void> {
    await rm(imageDir(guid), { recursive: true, force: true });
  }

  async function markRequested(guid: string, at: Date): Promise<void> {
    const tmp = join(imageDir(guid), `.${REQUESTED}-${randomBytes(4).toString('hex')}`);
    try {
      await writeFile(tmp, JSON.stringify({ at: at.toISOString() }));
      await rename(tmp, join(imageDir(guid), REQUESTED));
    } catch (err) {
      await rm(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deregistered meanwhile
    }
  }

  async function listImages(): Promise<RegisteredImage[]> {
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
    const images: RegisteredImage[] = [];
    for (const guid of names.filter(isGuid)) {
      const ids = await lookup(guid);
      if (!ids) continue; // incomplete: not an image anyone can use
      const marker = join(imageDir(guid), MARKER);
      const record = JSON.parse(await readFile(marker, 'utf8')) as PublishedImage;
      const registeredAt = record.registeredAt ? new Date(record.registeredAt) : (await stat(marker)).mtime;
      const requested = await readFile(join(imageDir(guid), REQUESTED), 'utf8').then(
        (text) => new Date((JSON.parse(text) as { at: string }).at),
        () => registeredAt,
      );
      images.push({ guid, ids, registeredAt, lastRequestedAt: requested > registeredAt ? requested : registeredAt });
    }
    return images;
  }

  async function inUse(guid: string): Promise<boolean> {
    const users = await readdir(join(imageDir(guid), IN_USE)).catch(() => []);
    return users.length > 0;
  }

  return { type: LOCAL_SITE_TYPE, site, lookup, register, deregister, markRequested, listImages, inUse };
}

/**
 * A copy, not a link into the cache: a consumer writing to a published disk (a KVM guest) must not
 * change the verified bytes the cache gives the next site. A reflink where the file system has them
 * (btrfs, XFS: instant, no space used until written), else a copy written past the page cache
 * (`copy-with-direct-writes.ts`), else, where the file system refuses that, a plain copy.
 */
async function publishCopy(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to, constants.COPYFILE_FICLONE_FORCE);
    return;
  } catch (err) {
    if (!NO_REFLINK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  if (await copyWithDirectWrites(from, to)) return;
  await copyFile(from, to);
}

/** What a reflink attempt fails with where the file system (or the pair of them) has none. */
const NO_REFLINK = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY']);
