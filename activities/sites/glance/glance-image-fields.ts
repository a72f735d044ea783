/**
 * What ImageProxy writes on the images it makes at a Glance site, and reads back. Pure.
 *
 * - name `imageproxy-<kind>-<part hash>` (a machine image adds its kernel/ramdisk): deterministic,
 *   so an attempt after a crash finds what the last one made;
 * - tag `imageproxy` on every image (the clean-up lists by it) and tag `imageproxy:guid:<GUID>`
 *   for each request the image serves;
 * - property `imageproxy_guid_<GUID>` = `FILESYSTEM=<id>,KERNEL=<id>,…`, written once every part of
 *   that request is active: the record `lookup` trusts;
 * - property `imageproxy_requested_<GUID>` = ISO time of the last request (the clean-up's clock).
 */
import { createHash } from 'node:crypto';
import type { CachedPart, IdKey } from '../../../common/image-types.js';

export const OWN_TAG = 'imageproxy';
export const guidTag = (guid: string): string => `imageproxy:guid:${guid}`;
export const GUID_TAG_PREFIX = 'imageproxy:guid:';
export const guidProperty = (guid: string): string => `imageproxy_guid_${guid}`;
export const GUID_PROPERTY_PREFIX = 'imageproxy_guid_';
export const requestedProperty = (guid: string): string => `imageproxy_requested_${guid}`;
export const PART_HASH_PROPERTY = 'imageproxy_part_hash';

export type GlanceImageKind = 'kernel' | 'ramdisk' | 'machine';

/** Glance's disk and container format of a part, as downloaded (no conversion). */
export function formatsOf(type: CachedPart['type']): { diskFormat: string; containerFormat: string; kind: GlanceImageKind } {
  switch (type) {
    case 'KERNEL':
      return { diskFormat: 'aki', containerFormat: 'aki', kind: 'kernel' };
    case 'RAMDISK':
      return { diskFormat: 'ari', containerFormat: 'ari', kind: 'ramdisk' };
    case 'QCOW2':
      return { diskFormat: 'qcow2', containerFormat: 'bare', kind: 'machine' };
    default:
      return { diskFormat: 'raw', containerFormat: 'bare', kind: 'machine' };
  }
}

/** Image name of a part: deterministic from its hash and what it boots with. */
export function glanceImageNameOf(part: CachedPart, bootsWith: { kernelId?: string; ramdiskId?: string } = {}): string {
  const { kind } = formatsOf(part.type);
  const base = `imageproxy-${kind}-${part.hash.hex.slice(0, 40)}`;
  if (!bootsWith.kernelId && !bootsWith.ramdiskId) return base;
  const deps = createHash('sha1').update(`${bootsWith.kernelId ?? ''}/${bootsWith.ramdiskId ?? ''}`).digest('hex');
  return `${base}-${deps.slice(0, 8)}`;
}

/** The value of the part-hash property, `sha1:<hex>`: proves an image found by name holds this part. */
export const partHashValue = (part: CachedPart): string => `${part.hash.algorithm}:${part.hash.hex}`;

/** The GUIDs whose tag an image carries. */
export function guidsOf(tags: readonly string[]): string[] {
  return tags.filter((t) => t.startsWith(GUID_TAG_PREFIX)).map((t) => t.slice(GUID_TAG_PREFIX.length));
}

/** Order in which an image's parts are made: what boots a machine image first. */
export const REGISTRATION_ORDER: readonly IdKey[] = ['KERNEL', 'RAMDISK', 'FILESYSTEM', 'QCOW2'];
