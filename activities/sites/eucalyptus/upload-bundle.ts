/**
 * The object-storage side of a bundle: the bucket, the parts, the manifest, and their removal.
 * The S3 client is made for Eucalyptus 4.x object storage: path-style addressing, and checksums
 * only where the API requires them (Eucalyptus does not know the newer `x-amz-checksum-*`
 * headers and trailers).
 */
import { createReadStream } from 'node:fs';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { BundledPart } from './bundle-image.js';

/** Bundles are readable by the cloud (which unbundles them) and their owner only. */
export const BUNDLE_ACL = 'aws-exec-read';

export interface S3Endpoint {
  url: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function createBundleS3Client(endpoint: S3Endpoint): S3Client {
  return new S3Client({
    endpoint: endpoint.url,
    region: endpoint.region,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
  });
}

/** The object key of a bundle's manifest. */
export function manifestKeyOf(bundleName: string): string {
  return `${bundleName}.manifest.xml`;
}

/** Create the bucket unless it exists (and is ours). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!(err instanceof S3ServiceException) || err.$metadata.httpStatusCode !== 404) throw err;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    // Another worker created it meanwhile.
    if (!(err instanceof S3ServiceException) || err.name !== 'BucketAlreadyOwnedByYou') throw err;
  }
}

/**
 * Upload one part unless the bucket already holds exactly these bytes (same size and MD5, from an
 * earlier attempt). Answers whether it uploaded.
 */
export async function uploadPart(s3: S3Client, bucket: string, part: BundledPart, signal?: AbortSignal): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: part.filename }), { abortSignal: signal });
    if (head.ContentLength === part.size && head.ETag?.replace(/"/g, '') === part.md5) return false;
  } catch (err) {
    if (!(err instanceof S3ServiceException) || err.$metadata.httpStatusCode !== 404) throw err;
  }
  // A request that fails before reading its body (aborted, refused before sending) must not leave
  // the stream opening a part file the caller deletes next: its error would be uncaught.
  const body = createReadStream(part.path);
  body.on('error', () => undefined); // a read error fails the request itself
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: part.filename,
        Body: body,
        ContentLength: part.size,
        ContentMD5: Buffer.from(part.md5, 'hex').toString('base64'),
        ACL: BUNDLE_ACL,
      }),
      { abortSignal: signal },
    );
  } finally {
    body.destroy();
  }
  return true;
}

export async function uploadManifest(s3: S3Client, bucket: string, bundleName: string, manifest: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: manifestKeyOf(bundleName),
      Body: manifest,
      ContentType: 'text/xml',
      ACL: BUNDLE_ACL,
    }),
  );
}

/** Whether the bucket holds the bundle's manifest. */
export async function manifestExists(s3: S3Client, bucket: string, bundleName: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: manifestKeyOf(bundleName) }));
    return true;
  } catch (err) {
    if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return false;
    throw err;
  }
}

/** Delete the bundle's manifest and every part (`<name>.part.*`); a missing bucket holds nothing. */
export async function deleteBundle(s3: S3Client, bucket: string, bundleName: string): Promise<void> {
  const keys = [manifestKeyOf(bundleName)];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${bundleName}.part.`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    if (err instanceof S3ServiceException && err.name === 'NoSuchBucket') return;
    throw err;
  }
  // One request per object: DeleteObjects needs a Content-MD5 that older object stores check differently.
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(keys.slice(i, i + 8).map((Key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
  }
}
