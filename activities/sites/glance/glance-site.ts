/**
 * The `glance` site: makes an image's parts into OpenStack images with the site's own credentials
 * over the Image API v2: KERNEL as `aki`, RAMDISK as `ari`, the machine image (`raw` or `qcow2`, as
 * downloaded) linked to them through `kernel_id`/`ramdisk_id`. Data is streamed from the cache and
 * hashed in the same pass; Glance's own multihash must equal ours before an image counts.
 *
 * Idempotent by name (glance-image-fields.ts): an attempt finds what an earlier one made. An active
 * image is reused; one left `queued` by a crashed attempt is adopted (its data uploaded); one in
 * `saving`/`importing` is waited for, and removed when it stalls past the registration timeout.
 * Two GUIDs sharing a part at once: one upload wins, the other gets 409, waits and reuses it.
 * `lookup` trusts only the `imageproxy_guid_<GUID>` record, written once every part is active.
 */
import type { ImageIds } from '../../../common/image-types.js';
import { parseIdsTag } from '../eucalyptus/ids-tag.js';
import type { RegisterRequest, SiteBackend } from '../site-backend.js';
import { createGlanceClient, type GlanceImage, type JsonPatchOp } from './glance-client.js';
import { glanceCleanUp } from './glance-clean-up.js';
import { guidProperty, guidsOf, guidTag, requestedProperty } from './glance-image-fields.js';
import { classify, RegistrationAttempt, stringProperty } from './glance-registration.js';
import { GLANCE_SITE_TYPE, type GlanceSiteSettings } from './glance-site-options.js';
import { createTokenSource, type TokenSource } from './keystone-tokens.js';
import { removeUntilSettled } from './settled-writes.js';

export interface GlanceSiteOptions {
  settings: GlanceSiteSettings;
  /** Tokens to use instead of ones made from the settings (tests watch renewal). */
  tokens?: TokenSource;
}

export interface GlanceSite extends SiteBackend {
  readonly tokens: TokenSource;
}

export function createGlanceSite(options: GlanceSiteOptions): GlanceSite {
  const { settings } = options;
  const site = settings.site;
  const tokens =
    options.tokens ??
    createTokenSource({
      site,
      auth: settings.auth,
      interface: settings.interface,
      ...(settings.imageUrl ? { imageUrl: settings.imageUrl } : {}),
      ...(settings.region ? { region: settings.region } : {}),
    });
  const glance = createGlanceClient({ site, tokens });

  async function lookup(guid: string): Promise<ImageIds | undefined> {
    const tagged = await glance.listImages({ tag: guidTag(guid) });
    for (const image of tagged) {
      const ids = parseIdsTag(stringProperty(image, guidProperty(guid)));
      if (!ids) continue;
      let complete = true;
      for (const id of new Set(Object.values(ids))) {
        const found = tagged.find((i) => i.id === id) ?? (await glance.getImage(id));
        if (found?.status !== 'active') complete = false;
      }
      if (complete) return ids;
    }
    return undefined;
  }

  async function register(request: RegisterRequest): Promise<ImageIds> {
    const existing = await lookup(request.guid);
    if (existing) return existing;
    const attempt = new RegistrationAttempt(glance, settings, request);
    try {
      return await attempt.run();
    } catch (err) {
      const cleanupError = await attempt.undo().then(
        () => undefined,
        (e: unknown) => e,
      );
      throw classify(site, err, cleanupError);
    }
  }

  async function deregister(guid: string): Promise<void> {
    // Untagging a shared image can be undone by another GUID's write at that moment: again until it stays.
    await removeUntilSettled(glance, site, guid, async (tagged) => {
      let untagged = 0;
      // Machine images first: they name the kernel and ramdisk they boot with.
      tagged.sort((a, b) => Number(isMachine(b)) - Number(isMachine(a)));
      for (const image of tagged) {
        const others = guidsOf(image.tags).filter((g) => g !== guid);
        if (others.length === 0) {
          await glance.deleteImage(image.id);
          continue;
        }
        untagged++;
        await glance.removeTag(image.id, guidTag(guid));
        const ops: JsonPatchOp[] = [guidProperty(guid), requestedProperty(guid)]
          .filter((p) => image[p] !== undefined)
          .map((p) => ({ op: 'remove', path: `/${p}` }));
        if (ops.length > 0) await glance.patchImage(image.id, ops);
      }
      return { untagged };
    });
  }

  return {
    type: GLANCE_SITE_TYPE,
    site,
    tokens,
    lookup,
    register,
    deregister,
    ...glanceCleanUp(glance, settings),
  };
}

function isMachine(image: GlanceImage): boolean {
  return image.disk_format !== 'aki' && image.disk_format !== 'ari';
}

