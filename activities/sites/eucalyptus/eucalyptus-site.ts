/**
 * The `eucalyptus` site: makes an image's parts into an EMI (machine image) with its EKI and ERI
 * on a Eucalyptus cloud, with the site's own credentials, without euca2ools: bundle (streamed),
 * upload to the site's bucket, RegisterImage, wait until `available`, tag.
 *
 * Idempotent by name: each image's name derives from its part's hash (and, for a machine image,
 * the kernel and ramdisk it boots with), so after a crash the next attempt finds what the last one
 * made instead of registering it twice. `imageproxy:guid:<GUID>` tags say which requests use an
 * image; once every part is available, each image's tag holds the whole answer
 * (`FILESYSTEM=emi-…,KERNEL=eki-…`), which is what `lookup` trusts.
 *
 * Over 300 lines on purpose: `register` is one ordered, idempotent sequence (kernel and ramdisk
 * before the machine image that boots with them, tags last); its steps live in bundle-image.ts,
 * upload-bundle.ts and register.ts, what stays here is their order.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EC2Client, Image } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorType, ImageProxyError } from '../../../common/errors.js';
import { ID_KEYS, idKeyOf, type CachedPart, type IdKey, type ImageIds } from '../../../common/image-types.js';
import type { RegisterRequest, SiteBackend } from '../site-backend.js';
import { SCRATCH_OWNER } from '../../files/scratch-owner.js';
import { bundleImage } from './bundle-image.js';
import { eucalyptusCleanUp } from './eucalyptus-clean-up.js';
import { formatIdsTag, parseIdsTag } from './ids-tag.js';
import { EUCALYPTUS_SITE_TYPE, type EucalyptusSiteSettings } from './eucalyptus-site-options.js';
import { buildManifest, type BundleImageType } from './manifest.js';
import {
  createEc2Client,
  deregisterImage,
  describeImages,
  findImageByName,
  findImagesByTagKey,
  ImageNotAvailableError,
  registerBundle,
  tagImage,
  untagImage,
  waitUntilAvailable,
} from './register.js';
import { createBundleS3Client, deleteBundle, ensureBucket, manifestExists, manifestKeyOf, uploadManifest, uploadPart } from './upload-bundle.js';

const run = promisify(execFile);

export interface EucalyptusSiteOptions {
  settings: EucalyptusSiteSettings;
  /** Scratch directory for bundle parts in flight (and converted QCOW2 images). */
  workDir: string;
  /** Clients to use instead of ones made from the settings (tests add middleware to them). */
  ec2?: EC2Client;
  s3?: S3Client;
  /** Threads compressing a bundle. @default 2 */
  bundleThreads?: number;
}

/** Tag key marking an image as used by the request of `guid`. */
export const guidTagKey = (guid: string): string => `imageproxy:guid:${guid}`;
const GUID_TAG_PREFIX = 'imageproxy:guid:';
const PART_HASH_TAG = 'imageproxy:part-hash';
const SOURCE_TAG = 'imageproxy:source';

/** Image name of a part: deterministic from its hash and what it boots with. */
export function imageNameOf(kind: BundleImageType, part: CachedPart, bootsWith: { kernelId?: string; ramdiskId?: string } = {}): string {
  const base = `imageproxy-${kind}-${part.hash.hex.slice(0, 40)}`;
  if (!bootsWith.kernelId && !bootsWith.ramdiskId) return base;
  const deps = createHash('sha1').update(`${bootsWith.kernelId ?? ''}/${bootsWith.ramdiskId ?? ''}`).digest('hex');
  return `${base}-${deps.slice(0, 8)}`;
}

export function createEucalyptusSite(options: EucalyptusSiteOptions): SiteBackend {
  const { settings } = options;
  const site = settings.site;
  const ec2 = options.ec2 ?? createEc2Client({ ...settings, url: settings.ec2Url });
  const s3 = options.s3 ?? createBundleS3Client({ ...settings, url: settings.s3Url });

  async function lookup(guid: string): Promise<ImageIds | undefined> {
    const key = guidTagKey(guid);
    for (const image of await findImagesByTagKey(ec2, key)) {
      const ids = parseIdsTag(image.Tags?.find((t) => t.Key === key)?.Value);
      if (!ids) continue;
      const wanted = [...new Set(Object.values(ids))];
      const found = await describeImages(ec2, wanted);
      if (wanted.every((id) => found.some((i) => i.ImageId === id && i.State === 'available'))) return ids;
    }
    return undefined;
  }

  async function register(request: RegisterRequest): Promise<ImageIds> {
    const existing = await lookup(request.guid);
    if (existing) return existing;
    const attempt = new RegistrationAttempt(request);
    try {
      return await attempt.run();
    } catch (err) {
      const failure = classify(err);
      // A retry (or the next worker, after a shutdown) resumes from what this attempt uploaded:
      // only a failure no attempt follows takes it away.
      const final = request.isFinal ? request.isFinal(failure) : failure instanceof ImageProxyError && failure.nonRetryable;
      if (!final) throw failure;
      const cleanupError = await attempt.undo().then(() => undefined, (e: unknown) => e);
      throw withCleanupOutcome(failure, cleanupError);
    } finally {
      await attempt.dispose();
    }
  }

  /** One call of `register`: what it made, so a final failure can take exactly that away again. */
  class RegistrationAttempt {
    /** Images this attempt registered (not ones it found, even pending): id → name. */
    private readonly createdImages = new Map<string, string>();
    private readonly uploadedBundles = new Set<string>();
    private workDir?: string;

    constructor(private readonly request: RegisterRequest) {}

    async run(): Promise<ImageIds> {
      const { parts } = this.request;
      for (const p of parts) {
        if (parts.filter((q) => idKeyOf(q.type) === idKeyOf(p.type)).length > 1) {
          throw new ImageProxyError({
            type: ErrorType.SiteRejected,
            nonRetryable: true,
            message: `site ${site}: the image has more than one ${idKeyOf(p.type)} part`,
          });
        }
      }
      const kernelPart = parts.find((p) => p.type === 'KERNEL');
      const ramdiskPart = parts.find((p) => p.type === 'RAMDISK');
      const machineParts = parts.filter((p) => p.type === 'FILESYSTEM' || p.type === 'ZFILESYSTEM' || p.type === 'QCOW2');
      const ids: ImageIds = {};
      if (kernelPart) ids.KERNEL = settings.kernelId ?? (await this.ensureImage('kernel', kernelPart, kernelPart.path));
      if (ramdiskPart) ids.RAMDISK = settings.ramdiskId ?? (await this.ensureImage('ramdisk', ramdiskPart, ramdiskPart.path));
      for (const part of machineParts) {
        const raw = await this.rawImageOf(part);
        ids[idKeyOf(part.type)] = await this.ensureImage('machine', part, raw, { kernelId: ids.KERNEL, ramdiskId: ids.RAMDISK });
      }
      // Every part is available: record the whole answer on each image we own.
      const record = formatIdsTag(ids);
      const own = new Set([...Object.values(ids)].filter((id) => id !== settings.kernelId && id !== settings.ramdiskId));
      for (const id of own) await tagImage(ec2, id, [{ Key: guidTagKey(this.request.guid), Value: record }]);
      return ids;
    }

    /** The raw image of a machine part; a QCOW2 is converted to raw with qemu-img first. */
    private async rawImageOf(part: CachedPart): Promise<string> {
      if (part.type !== 'QCOW2') return this.request.rawImageOf(part);
      const out = join(await this.scratch(), `${part.hash.hex.slice(0, 16)}.raw`);
      try {
        await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', part.path, out], { signal: this.request.signal });
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: string };
        if (e.code === 'ENOENT') throw new Error(`qemu-img is not installed on this worker (Debian qemu-utils); it converts QCOW2 parts for Eucalyptus`);
        throw new ImageProxyError({
          type: ErrorType.BadArchive,
          nonRetryable: true,
          message: `site ${site}: the QCOW2 part ${part.url} cannot be converted to raw: ${(e.stderr ?? e.message).trim()}`,
        });
      }
      return out;
    }

    private async scratch(): Promise<string> {
      if (!this.workDir) {
        await mkdir(options.workDir, { recursive: true });
        this.workDir = await mkdtemp(join(options.workDir, `bundle-${SCRATCH_OWNER}-`)); // swept at worker start once this process is gone
      }
      return this.workDir;
    }

    /** The id of the available image of this part: found by name, or bundled, uploaded and registered. */
    private async ensureImage(
      kind: BundleImageType,
      part: CachedPart,
      imagePath: string,
      bootsWith: { kernelId?: string | undefined; ramdiskId?: string | undefined } = {},
    ): Promise<string> {
      const deps = { ...(bootsWith.kernelId ? { kernelId: bootsWith.kernelId } : {}), ...(bootsWith.ramdiskId ? { ramdiskId: bootsWith.ramdiskId } : {}) };
      const name = imageNameOf(kind, part, deps);
      const progress = (detail: string): void => this.request.onProgress?.(`${kind} ${name}: ${detail}`);
      const found = await findImageByName(ec2, name);
      if (found?.ImageId && found.State !== 'failed') {
        // Tagged first: a run of another GUID that made it and fails finally then keeps it.
        await this.tagPart(found.ImageId, part, idKeyOf(part.type), found);
        // Pending: left by a crashed attempt, or being made by a run of another GUID sharing this
        // part; waited for, never undone by this attempt (it did not make it).
        if (found.State !== 'available') await this.waitAvailable(found.ImageId, progress);
        return found.ImageId;
      }
      if (found?.ImageId) await this.removeImage(found.ImageId, name);

      if (!(await manifestExists(s3, settings.bucket, name).catch(() => false))) {
        await this.uploadBundle(kind, name, part, imagePath, deps, progress);
      }
      let imageId: string;
      try {
        imageId = await registerBundle(ec2, {
          imageLocation: `${settings.bucket}/${manifestKeyOf(name)}`,
          name,
          description: `imageproxy ${idKeyOf(part.type)} ${part.hash.algorithm}:${part.hash.hex}`.slice(0, 255),
          architecture: settings.architecture,
          ...deps,
          ...(kind === 'machine' ? { virtualizationType: deps.kernelId ? 'paravirtual' : 'hvm' } : {}),
        });
      } catch (err) {
        if (kind !== 'machine' && isNotAuthorized(err)) {
          throw new ImageProxyError({
            type: ErrorType.SiteRejected,
            nonRetryable: true,
            message:
              `site ${site}: the cloud refused to register the ${kind} (${errorName(err)}); on Eucalyptus only cloud ` +
              `administrators may register kernels and ramdisks: use administrator credentials, or name an existing ` +
              `${kind === 'kernel' ? 'kernelId' : 'ramdiskId'} in the site config`,
          });
        }
        throw err;
      }
      this.createdImages.set(imageId, name);
      this.uploadedBundles.add(name);
      await this.tagPart(imageId, part, idKeyOf(part.type));
      await this.waitAvailable(imageId, progress);
      return imageId;
    }

    private async uploadBundle(
      kind: BundleImageType,
      name: string,
      part: CachedPart,
      imagePath: string,
      deps: { kernelId?: string; ramdiskId?: string },
      progress: (detail: string) => void,
    ): Promise<void> {
      await ensureBucket(s3, settings.bucket);
      this.uploadedBundles.add(name); // from the first part on, a failure must remove what went up
      // Key and IV derive from the site's secret and the bundle name: a retry writes the same
      // bytes, so parts already uploaded are recognised and skipped. Only the site can derive them.
      const secret = createHmac('sha256', settings.secretAccessKey).update(`imageproxy bundle ${name}`).digest();
      const key = secret.subarray(0, 16);
      const iv = secret.subarray(16, 32);
      const workDir = await this.scratch();
      let skipped = 0;
      const bundle = await bundleImage({
        imagePath,
        name,
        workDir,
        key,
        iv,
        partsInFlight: settings.partsInFlight,
        threads: options.bundleThreads ?? 2,
        ...(this.request.signal ? { signal: this.request.signal } : {}),
        onProgress: (bytes) => progress(`bundled ${bytes} bytes`),
        onPart: async (p) => {
          try {
            if (!(await uploadPart(s3, settings.bucket, p, this.request.signal))) skipped++;
          } finally {
            await unlink(p.path).catch(() => undefined);
          }
          progress(`uploaded part ${p.index}`);
        },
      });
      progress(`${bundle.parts.length} parts (${skipped} already uploaded)`);
      const manifest = buildManifest(
        {
          name,
          user: settings.userId,
          type: kind,
          architecture: settings.architecture,
          ...deps,
          digest: bundle.digest,
          size: bundle.size,
          bundledSize: bundle.bundledSize,
          key,
          iv,
          parts: bundle.parts,
        },
        settings,
      );
      await uploadManifest(s3, settings.bucket, name, manifest);
    }

    private async waitAvailable(imageId: string, progress: (detail: string) => void): Promise<void> {
      await waitUntilAvailable(ec2, imageId, {
        deadline: Date.now() + settings.registrationTimeoutMs,
        pollIntervalMs: settings.pollIntervalMs,
        ...(this.request.signal ? { signal: this.request.signal } : {}),
        onPoll: (state) => progress(`image ${imageId} ${state}`),
      });
    }

    private async tagPart(imageId: string, part: CachedPart, key: IdKey, image?: Image): Promise<void> {
      const guidKey = guidTagKey(this.request.guid);
      if (image?.Tags?.some((t) => t.Key === guidKey)) return;
      await tagImage(ec2, imageId, [
        { Key: PART_HASH_TAG, Value: `${part.hash.algorithm}:${part.hash.hex}`.slice(0, 255) },
        { Key: SOURCE_TAG, Value: part.url.slice(0, 255) },
        { Key: guidKey, Value: key },
      ]);
    }

    private async removeImage(imageId: string, name: string): Promise<void> {
      await deregisterImage(ec2, imageId);
      await deleteBundle(s3, settings.bucket, name);
    }

    /**
     * Take away every image and bundle this attempt made, except an image (a shared kernel or
     * ramdisk) that another GUID's request has tagged since: that one keeps it and its bundle.
     */
    async undo(): Promise<void> {
      const errors: unknown[] = [];
      const ours = guidTagKey(this.request.guid);
      const kept = new Set<string>();
      const images = this.createdImages.size > 0 ? await describeImages(ec2, [...this.createdImages.keys()]) : [];
      for (const [id, name] of this.createdImages) {
        const image = images.find((i) => i.ImageId === id);
        if (image?.Tags?.some((t) => t.Key?.startsWith(GUID_TAG_PREFIX) && t.Key !== ours)) {
          kept.add(name);
          await untagImage(ec2, id, [ours]).catch((e: unknown) => errors.push(e));
          continue;
        }
        await deregisterImage(ec2, id).catch((e: unknown) => errors.push(e));
      }
      for (const name of this.uploadedBundles) {
        if (!kept.has(name)) await deleteBundle(s3, settings.bucket, name).catch((e: unknown) => errors.push(e));
      }
      if (errors.length > 0) throw errors[0];
    }

    async dispose(): Promise<void> {
      if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
    }
  }

  async function deregister(guid: string): Promise<void> {
    const key = guidTagKey(guid);
    for (const image of await findImagesByTagKey(ec2, key)) {
      if (!image.ImageId) continue;
      const usedByOthers = image.Tags?.some((t) => t.Key?.startsWith(GUID_TAG_PREFIX) && t.Key !== key);
      if (usedByOthers) {
        await untagImage(ec2, image.ImageId, [key]);
        continue;
      }
      await deregisterImage(ec2, image.ImageId);
      if (image.Name) await deleteBundle(s3, settings.bucket, image.Name);
    }
  }

  async function close(): Promise<void> {
    ec2.destroy();
    s3.destroy();
  }

  /** A failure as the workflow should see it: typed, with the site's name, never a credential. */
  function classify(err: unknown): unknown {
    if (err instanceof ImageProxyError) return err;
    if (err instanceof ImageNotAvailableError) {
      const timeout = err.state === 'timeout';
      return new ImageProxyError({
        type: timeout ? ErrorType.SiteUnavailable : ErrorType.SiteRejected,
        nonRetryable: !timeout,
        message: `site ${site}: ${err.message}${timeout ? ` (registration timeout ${settings.registrationTimeoutMs / 1000} s)` : ''}`,
      });
    }
    if ((err as Error)?.name === 'AbortError') return err;
    return new ImageProxyError({
      type: ErrorType.SiteUnavailable,
      nonRetryable: false,
      message: `site ${site}: ${errorName(err)}: ${(err as Error)?.message ?? String(err)}`,
    });
  }

  /** A final failure, saying so when what this attempt made could not all be removed. */
  function withCleanupOutcome(failure: unknown, cleanupError: unknown): unknown {
    if (!cleanupError || !(failure instanceof ImageProxyError)) return failure;
    const outcome = `; removing what was made failed too (${errorName(cleanupError)}), run deregister later`;
    return new ImageProxyError({ type: failure.type, nonRetryable: failure.nonRetryable, message: failure.message + outcome });
  }

  return { type: EUCALYPTUS_SITE_TYPE, site, lookup, register, deregister, close, ...eucalyptusCleanUp(ec2) };
}

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? 'Error';
}

/** The cloud says these credentials may not do this (Eucalyptus answers kernels/ramdisks so for non-admins). */
function isNotAuthorized(err: unknown): boolean {
  const name = errorName(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return /NotAuthorized|AuthFailure|UnauthorizedOperation|AccessDenied/i.test(name) || status === 403;
}
