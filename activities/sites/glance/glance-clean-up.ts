/**
 * The clean-up capabilities of a `glance` site (see `SiteBackend.listImages`, `markRequested`,
 * `inUse`), on the tags and properties the backend writes (glance-image-fields.ts).
 *
 * In use: Glance cannot see instances (Nova boots them; volumes made from an image do not name it
 * either), so it cannot say whether an image still serves anyone. With `imagesInUse: "unknown"`
 * (the default) every image counts as in use and the clean-up never removes one: no deletion on
 * doubt. Only with `imagesInUse: "never"`, the operator's promise, does it answer false.
 */
import { parseIdsTag } from '../eucalyptus/ids-tag.js';
import type { RegisteredImage, SiteBackend } from '../site-backend.js';
import type { GlanceClient, GlanceImage } from './glance-client.js';
import { GUID_PROPERTY_PREFIX, guidTag, OWN_TAG, requestedProperty } from './glance-image-fields.js';
import type { GlanceSiteSettings } from './glance-site-options.js';

export function glanceCleanUp(
  glance: GlanceClient,
  settings: Pick<GlanceSiteSettings, 'imagesInUse'>,
): Required<Pick<SiteBackend, 'listImages' | 'inUse' | 'markRequested'>> {
  async function listImages(): Promise<RegisteredImage[]> {
    return registeredImagesOf(await glance.listImages({ tag: OWN_TAG }));
  }

  async function markRequested(guid: string, at: Date): Promise<void> {
    for (const image of await glance.listImages({ tag: guidTag(guid) })) {
      const key = requestedProperty(guid);
      await glance.patchImage(image.id, [{ op: image[key] === undefined ? 'add' : 'replace', path: `/${key}`, value: at.toISOString() }]);
    }
  }

  async function inUse(): Promise<boolean> {
    return settings.imagesInUse !== 'never';
  }

  return { listImages, inUse, markRequested };
}

/** The registrations recorded on `images`: one per GUID, oldest creation, last request. Pure. */
export function registeredImagesOf(images: readonly GlanceImage[]): RegisteredImage[] {
  const byGuid = new Map<string, RegisteredImage>();
  for (const image of images) {
    if (image.status !== 'active') continue;
    for (const [key, value] of Object.entries(image)) {
      if (!key.startsWith(GUID_PROPERTY_PREFIX) || typeof value !== 'string') continue;
      const guid = key.slice(GUID_PROPERTY_PREFIX.length);
      const ids = parseIdsTag(value);
      if (!ids) continue;
      const created = new Date(image.created_at);
      const requestedValue = image[requestedProperty(guid)];
      const requested = typeof requestedValue === 'string' ? new Date(requestedValue) : created;
      const seen = byGuid.get(guid);
      const registeredAt = seen && seen.registeredAt < created ? seen.registeredAt : created;
      const lastRequestedAt = [requested, registeredAt, seen?.lastRequestedAt ?? registeredAt].reduce((a, b) => (a > b ? a : b));
      byGuid.set(guid, { guid, ids, registeredAt, lastRequestedAt });
    }
  }
  return [...byGuid.values()];
}
