/**
 * One call of a `glance` site's `register` (see glance-site.ts): makes or finds the image of each
 * part, uploads and verifies its data, records the answer, and remembers what it made so a failure
 * takes exactly that away again.
 */
import { ImageProxyError } from '../../../common/errors.js';
import type { CachedPart, ImageIds } from '../../../common/image-types.js';
import { idKeyOf } from '../../../common/image-types.js';
import { formatIdsTag } from '../eucalyptus/ids-tag.js';
import type { RegisterRequest } from '../site-backend.js';
import type { GlanceClient, GlanceImage } from './glance-client.js';
import { siteRejected, siteUnavailable } from './glance-failures.js';
import { formatsOf, glanceImageNameOf, guidProperty, guidTag, OWN_TAG, PART_HASH_PROPERTY, partHashValue } from './glance-image-fields.js';
import type { GlanceSiteSettings } from './glance-site-options.js';
import { keepRecordSettled, sleep } from './settled-writes.js';
import { UploadConflictError, uploadImageData } from './upload-image-data.js';

/** Statuses of an upload or import in progress: someone may still finish it. */
const BUSY = new Set(['saving', 'uploading', 'importing']);
/** Statuses of an image whose data never arrived or was refused: ours to remove. */
const DEAD = new Set(['killed']);

/** One call of `register`: what it made or marked, so a failure can take exactly that away again. */
export class RegistrationAttempt {
  private readonly created = new Set<string>();
  private readonly tagged = new Set<string>();
  private readonly site: string;

  constructor(
    private readonly glance: GlanceClient,
    private readonly settings: GlanceSiteSettings,
    private readonly request: RegisterRequest,
  ) {
    this.site = settings.site;
  }

  async run(): Promise<ImageIds> {
    const { parts, guid } = this.request;
    for (const p of parts) {
      if (parts.filter((q) => idKeyOf(q.type) === idKeyOf(p.type)).length > 1) {
        throw siteRejected(this.site, `the image has more than one ${idKeyOf(p.type)} part`);
      }
    }
    const kernelPart = parts.find((p) => p.type === 'KERNEL');
    const ramdiskPart = parts.find((p) => p.type === 'RAMDISK');
    const ids: ImageIds = {};
    if (kernelPart) ids.KERNEL = await this.ensureImage(kernelPart, kernelPart.path, {});
    if (ramdiskPart) ids.RAMDISK = await this.ensureImage(ramdiskPart, ramdiskPart.path, {});
    for (const part of parts.filter((p) => formatsOf(p.type).kind === 'machine')) {
      const path = part.type === 'QCOW2' ? part.path : await this.request.rawImageOf(part);
      const deps = { ...(ids.KERNEL ? { kernelId: ids.KERNEL } : {}), ...(ids.RAMDISK ? { ramdiskId: ids.RAMDISK } : {}) };
      ids[idKeyOf(part.type)] = await this.ensureImage(part, path, deps);
    }
    // Every part is active: record the whole answer on each image, which is what lookup trusts.
    const record = formatIdsTag(ids);
    for (const id of new Set(Object.values(ids))) {
      const image = await this.glance.getImage(id);
      if (image?.status !== 'active') throw siteUnavailable(this.site, `image ${id} is no longer active (${image?.status ?? 'deleted'})`);
      await this.glance.patchImage(id, [{ op: image[guidProperty(guid)] === undefined ? 'add' : 'replace', path: `/${guidProperty(guid)}`, value: record }]);
    }
    // Another GUID sharing a part may have written the same image at the same moment (settled-writes.ts).
    await keepRecordSettled(this.glance, this.site, guid, ids, record, this.request.signal);
    return ids;
  }

  /** The id of the active image holding this part: found by name, adopted, or created and uploaded. */
  private async ensureImage(part: CachedPart, path: string, deps: { kernelId?: string; ramdiskId?: string }): Promise<string> {
    const name = glanceImageNameOf(part, deps);
    const deadline = Date.now() + this.settings.registrationTimeoutMs;
    let removedByOthers = 0;
    for (;;) {
      const same = (await this.glance.listImages({ name })).filter((i) => i[PART_HASH_PROPERTY] === partHashValue(part));
      same.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
      const active = same.find((i) => i.status === 'active');
      const leftovers = same.filter((i) => i.status === 'queued' || DEAD.has(i.status));
      if (active) {
        for (const extra of leftovers) await this.glance.deleteImage(extra.id);
        await this.tagWithGuid(active);
        return active.id;
      }
      const busy = same.find((i) => BUSY.has(i.status));
      if (busy) {
        // Another attempt may be uploading it right now: wait for it, remove it if it stalls.
        const settled = await this.waitWhileBusy(busy.id, deadline);
        if (settled === 'stalled') await this.glance.deleteImage(busy.id);
        continue;
      }
      const [adopt, ...duplicates] = leftovers.filter((i) => i.status === 'queued');
      for (const dead of [...duplicates, ...leftovers.filter((i) => DEAD.has(i.status))]) await this.glance.deleteImage(dead.id);
      const image = adopt ?? (await this.create(part, name, deps));
      this.created.add(image.id);
      await this.tagWithGuid(image);
      try {
        await this.upload(image.id, part, path, name, deadline);
      } catch (err) {
        if (!(err instanceof UploadConflictError)) throw err;
        // Another attempt (a second GUID sharing this part) adopted it and uploads: theirs to
        // finish or undo; or it removed ours as a duplicate of the one it adopted. Either way we
        // wait for theirs on the next round and reuse it.
        this.created.delete(image.id);
        if (err.conflict === 'busy') this.tagged.add(image.id);
        else this.tagged.delete(image.id);
        // Removed under us again and again is not a race any more: say so (and retry later).
        if (err.conflict === 'gone' && ++removedByOthers > 3) throw siteUnavailable(this.site, `image ${image.id} (${name}): Glance says it is gone, each time it was uploaded to`);
        continue;
      }
      return image.id;
    }
  }

  private async create(part: CachedPart, name: string, deps: { kernelId?: string; ramdiskId?: string }): Promise<GlanceImage> {
    const { diskFormat, containerFormat } = formatsOf(part.type);
    return this.glance.createImage({
      ...this.settings.properties,
      name,
      disk_format: diskFormat,
      container_format: containerFormat,
      visibility: this.settings.visibility,
      tags: [OWN_TAG, guidTag(this.request.guid)],
      [PART_HASH_PROPERTY]: partHashValue(part),
      imageproxy_source: part.url.slice(0, 255),
      ...(deps.kernelId ? { kernel_id: deps.kernelId } : {}),
      ...(deps.ramdiskId ? { ramdisk_id: deps.ramdiskId } : {}),
    });
  }

  /** Send the data, wait for `active`, and compare Glance's hashes with the ones computed on the way. */
  private async upload(imageId: string, part: CachedPart, path: string, name: string, deadline: number): Promise<void> {
    const glanceDirect = this.settings.importMethod === 'glance-direct';
    let reported = 0;
    const sent = await uploadImageData({
      glance: this.glance,
      imageId,
      path,
      target: glanceDirect ? 'stage' : 'file',
      hashAlgorithm: this.settings.hashAlgorithm,
      ...(this.request.signal ? { signal: this.request.signal } : {}),
      onProgress: (bytes) => {
        if (bytes - reported < 8 << 20 && bytes !== part.size) return;
        reported = bytes;
        this.request.onProgress?.(`${name}: uploaded ${bytes} of ${part.size} bytes`);
      },
    });
    if (glanceDirect) await this.glance.importStaged(imageId);
    const image = await this.waitActive(imageId, deadline);
    const theirs = image.os_hash_value ?? undefined;
    if (theirs && image.os_hash_algo !== this.settings.hashAlgorithm) {
      throw siteRejected(
        this.site,
        `Glance hashes with ${image.os_hash_algo ?? '?'}, not ${this.settings.hashAlgorithm}: set hashAlgorithm "${image.os_hash_algo ?? ''}" in the site config`,
      );
    }
    const mismatch =
      (theirs !== undefined && theirs !== sent.multihash) ||
      (image.checksum !== null && image.checksum !== undefined && image.checksum !== sent.md5) ||
      (image.size !== null && image.size !== sent.size);
    if (mismatch) {
      throw siteUnavailable(
        this.site,
        `image ${imageId} (${name}) holds other bytes than were sent: Glance ${image.os_hash_algo ?? 'md5'} ${theirs ?? image.checksum}, ` +
          `ours ${theirs ? sent.multihash : sent.md5} (${image.size} vs ${sent.size} bytes); it is removed and the upload retried`,
      );
    }
  }

  private async waitActive(imageId: string, deadline: number): Promise<GlanceImage> {
    for (;;) {
      const image = await this.glance.getImage(imageId);
      if (!image) throw siteUnavailable(this.site, `image ${imageId} was deleted while it was being registered`);
      if (image.status === 'active') return image;
      if (DEAD.has(image.status) || (image.status === 'queued' && this.settings.importMethod === 'upload')) {
        const failed = stringProperty(image, 'os_glance_failed_import');
        throw siteRejected(this.site, `image ${imageId} ended ${image.status} after its upload${failed ? ` (import failed in stores ${failed})` : ''}`);
      }
      if (Date.now() > deadline) {
        throw siteUnavailable(this.site, `image ${imageId} is still ${image.status} after ${this.settings.registrationTimeoutMs / 1000} s (registrationTimeoutSeconds)`);
      }
      await sleep(this.settings.pollIntervalMs, this.request.signal);
    }
  }

  private async waitWhileBusy(imageId: string, deadline: number): Promise<'settled' | 'stalled'> {
    for (;;) {
      const image = await this.glance.getImage(imageId);
      if (!image || !BUSY.has(image.status)) return 'settled';
      if (Date.now() > deadline) return 'stalled';
      this.request.onProgress?.(`waiting for image ${imageId} (${image.status})`);
      await sleep(this.settings.pollIntervalMs, this.request.signal);
    }
  }

  private async tagWithGuid(image: GlanceImage): Promise<void> {
    const tag = guidTag(this.request.guid);
    if (image.tags.includes(tag)) return;
    await this.glance.addTag(image.id, tag);
    if (!image.tags.includes(OWN_TAG)) await this.glance.addTag(image.id, OWN_TAG);
    this.tagged.add(image.id);
  }

  /** Remove what this attempt made, and its GUID's tag from images it only marked. */
  async undo(): Promise<void> {
    const errors: unknown[] = [];
    for (const id of this.created) await this.glance.deleteImage(id).catch((e: unknown) => errors.push(e));
    for (const id of this.tagged) {
      if (this.created.has(id)) continue;
      await this.glance.removeTag(id, guidTag(this.request.guid)).catch((e: unknown) => errors.push(e));
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** A failure as the workflow should see it: typed, with the site's name, never a credential. */
export function classify(site: string, err: unknown, cleanupError: unknown): unknown {
  const cleanup = cleanupError ? `; removing what was made failed too (${(cleanupError as Error)?.message ?? String(cleanupError)}), run deregister later` : '';
  if (err instanceof ImageProxyError) {
    if (!cleanup) return err;
    return new ImageProxyError({ type: err.type, nonRetryable: err.nonRetryable, message: err.message + cleanup });
  }
  if ((err as Error)?.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  return siteUnavailable(site, `${code ? `${code}: ` : ''}${(err as Error)?.message ?? String(err)}${cleanup}`);
}


export function stringProperty(image: GlanceImage, key: string): string | undefined {
  const value = image[key];
  return typeof value === 'string' ? value : undefined;
}
