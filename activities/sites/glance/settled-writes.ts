/**
 * Changes to images another GUID may share, made so they stay. Glance saves a whole image on
 * every tag or property change: adding a tag and a PATCH both read the image, change it and write
 * back all of its tags and properties (`ImageRepo.save`: `image_tag_set_all`, `purge_props`). Two
 * writers on one image at once (two GUIDs sharing a part, registering or deregistering) can undo
 * each other's change. Such a request lasts far less than SETTLE_MS, so a change still there
 * SETTLE_MS after it was made can no longer be undone by a request begun before it; a later
 * request reads it and keeps it.
 */
import type { ImageIds } from '../../../common/image-types.js';
import type { GlanceClient } from './glance-client.js';
import { siteUnavailable } from './glance-failures.js';
import { guidProperty, guidTag, OWN_TAG } from './glance-image-fields.js';

export const SETTLE_MS = 1000;
/** Rounds of re-applying before the writes around us count as a fault (retried later). */
const ROUNDS = 5;

/** Waits until the GUID's tags and record stay on each of its images for SETTLE_MS, re-applying what was lost. */
export async function keepRecordSettled(glance: GlanceClient, site: string, guid: string, ids: ImageIds, record: string, signal?: AbortSignal): Promise<void> {
  for (let round = 1; ; round++) {
    await sleep(SETTLE_MS, signal);
    let lost = 0;
    for (const id of new Set(Object.values(ids))) {
      const image = await glance.getImage(id);
      if (image?.status !== 'active') throw siteUnavailable(site, `image ${id} is no longer active (${image?.status ?? 'deleted'})`);
      for (const tag of [guidTag(guid), OWN_TAG].filter((t) => !image.tags.includes(t))) {
        lost++;
        await glance.addTag(id, tag);
      }
      if (image[guidProperty(guid)] !== record) {
        lost++;
        await glance.patchImage(id, [{ op: image[guidProperty(guid)] === undefined ? 'add' : 'replace', path: `/${guidProperty(guid)}`, value: record }]);
      }
    }
    if (lost === 0) return;
    if (round >= ROUNDS) throw siteUnavailable(site, `the record of ${guid} on its images was undone by other writes ${round} times in a row`);
  }
}

/**
 * Runs `remove` over the images still tagged with the GUID until none is, SETTLE_MS after the
 * last removal (another GUID's write begun before ours can put our tag back).
 */
export async function removeUntilSettled(
  glance: GlanceClient,
  site: string,
  guid: string,
  remove: (images: Awaited<ReturnType<GlanceClient['listImages']>>) => Promise<{ untagged: number }>,
): Promise<void> {
  for (let round = 1; ; round++) {
    const tagged = await glance.listImages({ tag: guidTag(guid) });
    if (tagged.length === 0) return;
    if (round > ROUNDS) throw siteUnavailable(site, `images of ${guid} got its tag back from other writes ${ROUNDS} times in a row`);
    const { untagged } = await remove(tagged);
    if (untagged === 0) return; // only deleted: a deleted image cannot be written back
    await sleep(SETTLE_MS);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
