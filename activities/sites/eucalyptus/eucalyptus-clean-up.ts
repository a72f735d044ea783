/**
 * The clean-up capabilities of a `eucalyptus` site (see `SiteBackend.listImages`, `inUse`,
 * `markRequested`), on the tags the backend writes: every image ImageProxy made carries
 * `imageproxy:guid:<GUID>` = `FILESYSTEM=emi-…,KERNEL=eki-…` for each request it serves. The last
 * request of a GUID is the tag `imageproxy:requested:<GUID>` = ISO time on the same images. An
 * image is in use while an instance that is not terminated runs its machine image (DescribeInstances
 * with an `image-id` filter).
 */
import { CreateTagsCommand, DescribeImagesCommand, DescribeInstancesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { ID_KEYS, type IdKey, type ImageIds } from '../../../common/image-types.js';
import type { RegisteredImage, SiteBackend } from '../site-backend.js';
import { parseIdsTag } from './ids-tag.js';

const GUID_TAG_PREFIX = 'imageproxy:guid:';
const REQUESTED_TAG_PREFIX = 'imageproxy:requested:';
/** Instances in these states still use their image (a stopped instance boots it again). */
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export function eucalyptusCleanUp(ec2: EC2Client): Required<Pick<SiteBackend, 'listImages' | 'inUse' | 'markRequested'>> {
  async function ownImages(): Promise<Image[]> {
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    return Images.filter((i) => i.State !== 'deregistered');
  }

  async function listImages(): Promise<RegisteredImage[]> {
    return registeredImagesOf(await ownImages());
  }

  async function markRequested(guid: string, at: Date): Promise<void> {
    const ids = (await ownImages()).filter((i) => i.Tags?.some((t) => t.Key === GUID_TAG_PREFIX + guid)).map((i) => i.ImageId!);
    if (ids.length === 0) return;
    await ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: REQUESTED_TAG_PREFIX + guid, Value: at.toISOString() }] }));
  }

  async function inUse(guid: string): Promise<boolean> {
    const image = (await listImages()).find((i) => i.guid === guid);
    // Instances boot the machine image; its kernel and ramdisk are shared with other images and
    // stay while any GUID's tag names them (the backend's deregister only removes unshared ones).
    const machineIds = [image?.ids.FILESYSTEM, image?.ids.QCOW2].filter((id): id is string => id !== undefined);
    if (machineIds.length === 0) return false;
    const { Reservations = [] } = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'image-id', Values: machineIds },
          { Name: 'instance-state-name', Values: LIVE_STATES },
        ],
      }),
    );
    return Reservations.some((r) => (r.Instances ?? []).length > 0);
  }

  return { listImages, inUse, markRequested };
}

/**
 * The registrations recorded in the tags of `images`: one per GUID, with its answer, the creation
 * of its oldest image and its last request. Pure.
 */
export function registeredImagesOf(images: readonly Image[]): RegisteredImage[] {
  const byGuid = new Map<string, RegisteredImage>();
  for (const image of images) {
    for (const tag of image.Tags ?? []) {
      if (!tag.Key?.startsWith(GUID_TAG_PREFIX)) continue;
      const guid = tag.Key.slice(GUID_TAG_PREFIX.length);
      const ids = parseIdsTag(tag.Value);
      if (!ids) continue; // still being registered: not an image anyone can use
      const created = new Date(image.CreationDate ?? 0);
      const requestedTag = image.Tags?.find((t) => t.Key === REQUESTED_TAG_PREFIX + guid)?.Value;
      const requested = requestedTag ? new Date(requestedTag) : created;
      const seen = byGuid.get(guid);
      const registeredAt = seen && seen.registeredAt < created ? seen.registeredAt : created;
      const lastRequestedAt = [requested, registeredAt, seen?.lastRequestedAt ?? registeredAt].reduce((a, b) => (a > b ? a : b));
      byGuid.set(guid, { guid, ids, registeredAt, lastRequestedAt });
    }
  }
  return [...byGuid.values()];
}

