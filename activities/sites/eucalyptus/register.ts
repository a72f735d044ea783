/**
 * The compute side of an image: find by name or tag, register a bundle's manifest, wait until
 * the cloud has unbundled it, tag it, deregister it.
 */
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  EC2Client,
  RegisterImageCommand,
  type Image,
  type Tag,
} from '@aws-sdk/client-ec2';

export interface Ec2Endpoint {
  url: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function createEc2Client(endpoint: Ec2Endpoint): EC2Client {
  return new EC2Client({
    endpoint: endpoint.url,
    region: endpoint.region,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    maxAttempts: 5,
  });
}

/** Our image with this name, if any (names are unique per owner). */
export async function findImageByName(ec2: EC2Client, name: string): Promise<Image | undefined> {
  const { Images = [] } = await ec2.send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
  );
  return Images.find((i) => i.Name === name && i.State !== 'deregistered');
}

/** Our images carrying tag `key` (any value). */
export async function findImagesByTagKey(ec2: EC2Client, key: string): Promise<Image[]> {
  const { Images = [] } = await ec2.send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag-key', Values: [key] }] }),
  );
  return Images.filter((i) => i.State !== 'deregistered' && i.Tags?.some((t) => t.Key === key));
}

/** The images with these ids that still exist. */
export async function describeImages(ec2: EC2Client, ids: string[]): Promise<Image[]> {
  try {
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ ImageIds: ids }));
    return Images;
  } catch (err) {
    if ((err as { name?: string }).name?.startsWith('InvalidAMIID')) return [];
    throw err;
  }
}

export interface RegisterBundleInput {
  /** `<bucket>/<name>.manifest.xml` */
  imageLocation: string;
  name: string;
  description: string;
  architecture: string;
  kernelId?: string;
  ramdiskId?: string;
  /** For machine images: `paravirtual` with a kernel, `hvm` without. */
  virtualizationType?: 'paravirtual' | 'hvm';
}

export async function registerBundle(ec2: EC2Client, input: RegisterBundleInput): Promise<string> {
  const { ImageId } = await ec2.send(
    new RegisterImageCommand({
      ImageLocation: input.imageLocation,
      Name: input.name,
      Description: input.description,
      Architecture: input.architecture as 'x86_64',
      ...(input.kernelId ? { KernelId: input.kernelId } : {}),
      ...(input.ramdiskId ? { RamdiskId: input.ramdiskId } : {}),
      ...(input.virtualizationType ? { VirtualizationType: input.virtualizationType } : {}),
    }),
  );
  if (!ImageId) throw new Error(`RegisterImage of ${input.imageLocation} answered no image id`);
  return ImageId;
}

/** Why waiting for an image ended without it being available. */
export class ImageNotAvailableError extends Error {
  constructor(
    readonly imageId: string,
    readonly state: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImageNotAvailableError';
  }
}

/** Poll until the image is `available`; throws on `failed`/`deregistered`/gone or at `deadline`. */
export async function waitUntilAvailable(
  ec2: EC2Client,
  imageId: string,
  opts: { deadline: number; pollIntervalMs: number; signal?: AbortSignal; onPoll?: (state: string) => void },
): Promise<void> {
  for (;;) {
    if (Date.now() >= opts.deadline) {
      throw new ImageNotAvailableError(imageId, 'timeout', `image ${imageId} did not become available in time`);
    }
    const [image] = await describeImages(ec2, [imageId]);
    const state = image?.State ?? 'deregistered';
    opts.onPoll?.(state);
    if (state === 'available') return;
    if (state === 'failed' || state === 'deregistered' || state === 'error' || state === 'invalid') {
      const reason = image?.StateReason?.Message ? `: ${image.StateReason.Message}` : '';
      throw new ImageNotAvailableError(imageId, state, `image ${imageId} is ${state}${reason}`);
    }
    await sleep(Math.min(opts.pollIntervalMs, Math.max(0, opts.deadline - Date.now())), opts.signal);
  }
}

export async function tagImage(ec2: EC2Client, imageId: string, tags: Tag[]): Promise<void> {
  await ec2.send(new CreateTagsCommand({ Resources: [imageId], Tags: tags }));
}

export async function untagImage(ec2: EC2Client, imageId: string, keys: string[]): Promise<void> {
  await ec2.send(new DeleteTagsCommand({ Resources: [imageId], Tags: keys.map((Key) => ({ Key })) }));
}

/** Deregister; an image already gone is not an error. */
export async function deregisterImage(ec2: EC2Client, imageId: string): Promise<void> {
  try {
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
  } catch (err) {
    if ((err as { name?: string }).name?.startsWith('InvalidAMIID')) return;
    throw err;
  }
}

/** The bucket and bundle name of an image location `<bucket>/<name>.manifest.xml`. */
export function parseImageLocation(location: string | undefined): { bucket: string; bundleName: string } | undefined {
  const m = /^([^/]+)\/(.+)\.manifest\.xml$/.exec(location ?? '');
  return m ? { bucket: m[1]!, bundleName: m[2]! } : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
