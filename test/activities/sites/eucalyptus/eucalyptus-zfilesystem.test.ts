/**
 * A ZFILESYSTEM image on a Eucalyptus site, through the whole workflow: the bundle in the bucket
 * holds the unpacked raw filesystem (from `rawImageOf`), not the compressed download.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBundleS3Client } from '../../../../activities/sites/eucalyptus/upload-bundle.js';
import { decryptManifestValue, getObject, readManifest, unbundle } from '../../../support/bundle-reader.js';
import { compress, compressibleImage, tarOf } from '../../../support/compressed-images.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World } from '../../../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../../../support/moto-server.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

describe('ZFILESYSTEM on a eucalyptus site (moto_server)', () => {
  let origin: HttpOrigin;
  let moto: MotoServer;
  let world: World;
  let creds: EucalyptusCredentials;
  let credsDir: string;
  const site = uniqueName('euca-z');
  const bucket = uniqueName('zbukkit');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    moto = await startMotoServer();
    credsDir = await newTestDir('euca-z-creds');
    creds = await writeEucalyptusCredentials(credsDir);
    world = await startWorld({
      sites: {
        [site]: { type: 'eucalyptus', eucarc: creds.eucarc, ec2Url: moto.url, s3Url: moto.url, region: 'us-east-1', bucket, pollIntervalSeconds: 0.1 },
      },
    });
  });
  afterAll(async () => {
    await world?.stop();
    await moto?.stop();
    await origin?.stop();
    if (credsDir) await rm(credsDir, { recursive: true, force: true });
  });

  it('bundles the raw filesystem found inside a gzipped tar', async () => {
    const raw = compressibleImage(3 << 20, 77);
    const content = await compress(await tarOf([{ name: './filesystem', data: raw }]), 'gzip');
    const partUrl = origin.addBuffer('/z/filesystem.tgz', content);
    const metadata = `<?xml version="1.0"?>\n<images>\n  <image>\n    <type>ZFILESYSTEM</type>\n    <signature>${sha1(content)}</signature>\n    <url>${partUrl}</url>\n  </image>\n</images>\n`;
    const url = origin.addBuffer('/z/image.xml', metadata);
    const result = await world.client.registerImage({ url, guid: sha1(metadata), site });
    expect(Object.keys(result.ids)).toEqual(['FILESYSTEM']);

    const s3 = createBundleS3Client({ url: moto.url, region: 'us-east-1', accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
    const name = `imageproxy-machine-${sha1(content)}`;
    const manifest = readManifest((await getObject(s3, bucket, `${name}.manifest.xml`)).toString('utf8'));
    expect(manifest.size).toBe(raw.length);
    const parts = await Promise.all(manifest.parts.map((p) => getObject(s3, bucket, p.filename)));
    const key = await decryptManifestValue(manifest.userEncryptedKey, creds.userKey);
    const iv = await decryptManifestValue(manifest.userEncryptedIv, creds.userKey);
    const unbundled = await unbundle(parts, key, iv);
    expect(unbundled.members.map((m) => sha1(m.data))).toEqual([sha1(raw)]);
    s3.destroy();
  });
});
