/**
 * The eucalyptus backend against a real moto_server: the bundle is proven by reading it back from
 * S3 and decrypting it, the RegisterImage parameters by the requests the SDK sent (moto keeps
 * neither: see ../shared/reference/test-world.md).
 */
import { X509Certificate, verify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegisterImageCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedPart } from '../../../../common/image-types.js';
import { guidTagKey, imageNameOf } from '../../../../activities/sites/eucalyptus/eucalyptus-site.js';
import { decryptManifestValue, getObject, readManifest, unbundle } from '../../../support/bundle-reader.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { newTestDir } from '../../../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../../../support/moto-server.js';
import { instrumentedSite, writePart, type InstrumentedSite } from './eucalyptus-fixture.js';
import { ImageProxyError } from '../../../../common/errors.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const rawImageOf = async (p: CachedPart): Promise<string> => p.path;
const guidOf = (n: number): string => `${Date.now().toString(16).padStart(12, '0')}${n.toString(16).padStart(28, '0')}`;
let nextGuid = Math.floor(Math.random() * 1e6);
const newGuid = (): string => guidOf(nextGuid++);

describe('eucalyptus site against moto_server', () => {
  let moto: MotoServer;
  let dir: string;
  let creds: EucalyptusCredentials;

  beforeAll(async () => {
    dir = await newTestDir('euca');
    moto = await startMotoServer();
    creds = await writeEucalyptusCredentials(dir, { ec2Url: moto.url, s3Url: moto.url });
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const workDirOf = (site: InstrumentedSite): string => join(dir, 'work', site.settings.site);

  /** Read a bundle back from S3 and check everything a cloud would; answers the unbundled member. */
  async function proveBundle(site: InstrumentedSite, name: string, type: string, image: Buffer): Promise<ReturnType<typeof readManifest>> {
    const manifest = readManifest((await getObject(site.s3, site.settings.bucket, `${name}.manifest.xml`)).toString('utf8'));
    expect(manifest.rootOrder).toEqual(['version', 'bundler', 'machine_configuration', 'image', 'signature']);
    expect(manifest.imageOrder).toEqual([
      'name', 'user', 'type', 'digest', 'size', 'bundled_size',
      'ec2_encrypted_key', 'user_encrypted_key', 'ec2_encrypted_iv', 'user_encrypted_iv', 'parts',
    ]);
    expect(manifest.xml).toContain('<version>2007-10-10</version>');
    expect(manifest.name).toBe(name);
    expect(manifest.user).toBe(creds.accountId);
    expect(manifest.type).toBe(type);
    expect(manifest.size).toBe(image.length);

    // The signature: RSA-SHA1 by the user's key over <machine_configuration> + <image> as written.
    const userCert = new X509Certificate(await readFile(creds.userCert));
    expect(verify('sha1', Buffer.from(manifest.signedText), userCert.publicKey, Buffer.from(manifest.signature, 'hex'))).toBe(true);
    const tampered = manifest.signedText.replace(`<size>${image.length}</size>`, `<size>${image.length + 1}</size>`);
    expect(verify('sha1', Buffer.from(tampered), userCert.publicKey, Buffer.from(manifest.signature, 'hex'))).toBe(false);

    // Key and IV: 32 hex characters each, the same for the user and for the cloud.
    const key = await decryptManifestValue(manifest.userEncryptedKey, creds.userKey);
    const iv = await decryptManifestValue(manifest.userEncryptedIv, creds.userKey);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(iv).toMatch(/^[0-9a-f]{32}$/);
    expect(await decryptManifestValue(manifest.ec2EncryptedKey, creds.cloudKey)).toBe(key);
    expect(await decryptManifestValue(manifest.ec2EncryptedIv, creds.cloudKey)).toBe(iv);

    // Parts: named and hashed as listed, nothing else in the bucket under this name, sizes add up.
    expect(manifest.parts).toHaveLength(manifest.partCount);
    const parts: Buffer[] = [];
    for (const [i, p] of manifest.parts.entries()) {
      expect(p.index).toBe(i);
      expect(p.filename).toBe(`${name}.part.${String(i).padStart(2, '0')}`);
      const bytes = await getObject(site.s3, site.settings.bucket, p.filename);
      const { createHash } = await import('node:crypto');
      expect(createHash('sha1').update(bytes).digest('hex')).toBe(p.sha1);
      if (i < manifest.parts.length - 1) expect(bytes.length).toBe(10 * MiB);
      else expect(bytes.length).toBeGreaterThan(0);
      parts.push(bytes);
    }
    const stored = (await site.objects()).filter((k) => k.startsWith(`${name}.`)).sort();
    expect(stored).toEqual([`${name}.manifest.xml`, ...manifest.parts.map((p) => p.filename)].sort());
    expect(manifest.bundledSize).toBe(parts.reduce((n, b) => n + b.length, 0));

    // Decrypt + gunzip the concatenated parts: a tar with the manifest's digest and one member, the image.
    const unbundled = await unbundle(parts, key, iv);
    expect(unbundled.tarSha1).toBe(manifest.digest);
    expect(unbundled.members).toHaveLength(1);
    expect(unbundled.members[0]!.data.equals(image)).toBe(true);
    return manifest;
  }

  it('registers filesystem, kernel and ramdisk: bundles proven from S3, RegisterImage calls as sent', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w1'));
    const fs = await writePart(dir, 'FILESYSTEM', 12 * MiB, { zeros: 1 * MiB }); // two parts
    const kernel = await writePart(dir, 'KERNEL', MiB);
    const ramdisk = await writePart(dir, 'RAMDISK', 2 * MiB);
    const guid = newGuid();
    const progress: string[] = [];
    const ids = await site.backend.register({
      guid, metadataUrl: 'http://origin.invalid/image.xml', parts: [fs, kernel, ramdisk], rawImageOf,
      onProgress: (d) => progress.push(d),
    });
    expect(Object.keys(ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
    expect(progress.length).toBeGreaterThan(0);

    const kernelName = imageNameOf('kernel', kernel);
    const ramdiskName = imageNameOf('ramdisk', ramdisk);
    const machineName = imageNameOf('machine', fs, { kernelId: ids.KERNEL!, ramdiskId: ids.RAMDISK! });
    const registered = site.commands('RegisterImageCommand').map((c) => c.input as unknown as RegisterImageCommand['input']);
    const bucket = site.settings.bucket;
    expect(registered.map((r) => ({ ...r, Description: undefined }))).toEqual([
      { ImageLocation: `${bucket}/${kernelName}.manifest.xml`, Name: kernelName, Architecture: 'x86_64', Description: undefined },
      { ImageLocation: `${bucket}/${ramdiskName}.manifest.xml`, Name: ramdiskName, Architecture: 'x86_64', Description: undefined },
      {
        ImageLocation: `${bucket}/${machineName}.manifest.xml`, Name: machineName, Architecture: 'x86_64',
        KernelId: ids.KERNEL, RamdiskId: ids.RAMDISK, VirtualizationType: 'paravirtual', Description: undefined,
      },
    ]);
    // Every object went up readable by the cloud.
    for (const put of site.commands('PutObjectCommand')) expect(put.input.ACL).toBe('aws-exec-read');
    expect(site.commands('CreateBucketCommand')).toHaveLength(1);

    const machine = await proveBundle(site, machineName, 'machine', await readFile(fs.path));
    expect(machine.partCount).toBe(2);
    expect(machine.architecture).toBe('x86_64');
    expect(machine.kernelId).toBe(ids.KERNEL);
    expect(machine.ramdiskId).toBe(ids.RAMDISK);
    expect(machine.machineConfigurationOrder).toEqual(['architecture', 'block_device_mapping', 'kernel_id', 'ramdisk_id']);
    const k = await proveBundle(site, kernelName, 'kernel', await readFile(kernel.path));
    expect(k.kernelId).toBe('true');
    expect(k.machineConfigurationOrder).toEqual(['architecture', 'kernel_id']);
    const r = await proveBundle(site, ramdiskName, 'ramdisk', await readFile(ramdisk.path));
    expect(r.ramdiskId).toBe('true');

    // Tags tell an operator where each image came from; lookup finds the whole answer by GUID.
    const images = await site.imagesNamed('imageproxy-');
    const machineImage = images.find((i) => i.ImageId === ids.FILESYSTEM)!;
    const tags = Object.fromEntries(machineImage.Tags!.map((t) => [t.Key, t.Value]));
    expect(tags['imageproxy:part-hash']).toBe(`sha1:${fs.hash.hex}`);
    expect(tags['imageproxy:source']).toBe(fs.url);
    expect(tags[guidTagKey(guid)]).toBe(`FILESYSTEM=${ids.FILESYSTEM},KERNEL=${ids.KERNEL},RAMDISK=${ids.RAMDISK}`);
    expect(await site.backend.lookup(guid)).toEqual(ids);
    expect(await site.backend.lookup(newGuid())).toBeUndefined();
    expect(await readdir(workDirOf(site)).catch(() => [])).toEqual([]); // no part files left behind

    // Asked again: the same ids; nothing registered, nothing uploaded.
    const before = site.sent.length;
    expect(await site.backend.register({ guid, metadataUrl: 'x', parts: [fs, kernel, ramdisk], rawImageOf })).toEqual(ids);
    const again = site.sent.slice(before).map((c) => c.name);
    expect(again).not.toContain('RegisterImageCommand');
    expect(again).not.toContain('PutObjectCommand');

    // After a crash that lost the final tags, the images are found again by name: still nothing twice.
    for (const id of Object.values(ids)) {
      await site.ec2.send(new (await import('@aws-sdk/client-ec2')).DeleteTagsCommand({ Resources: [id], Tags: [{ Key: guidTagKey(guid) }] }));
    }
    expect(await site.backend.lookup(guid)).toBeUndefined();
    const mark = site.sent.length;
    expect(await site.backend.register({ guid, metadataUrl: 'x', parts: [fs, kernel, ramdisk], rawImageOf })).toEqual(ids);
    const resumed = site.sent.slice(mark).map((c) => c.name);
    expect(resumed).not.toContain('RegisterImageCommand');
    expect(resumed).not.toContain('PutObjectCommand');
    expect(await site.backend.lookup(guid)).toEqual(ids);

    // Deregister removes the images and their bundles.
    await site.backend.deregister(guid);
    expect(await site.imagesNamed('imageproxy-')).toEqual([]);
    expect(await site.objects()).toEqual([]);
    expect(await site.backend.lookup(guid)).toBeUndefined();
  });

  it('a final failure after the upload leaves no image and no bundle object', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w2'));
    const fs = await writePart(dir, 'FILESYSTEM', 3 * MiB);
    const kernel = await writePart(dir, 'KERNEL', MiB);
    site.failWhen((c) =>
      c.name === 'RegisterImageCommand' && String(c.input.Name).startsWith('imageproxy-machine-')
        ? Object.assign(new Error('injected: cloud lost the request'), { name: 'InternalError' })
        : undefined,
    );
    // The last attempt (retryFor spent): what it made is taken away.
    const err = await site.backend.register({ guid: newGuid(), metadataUrl: 'x', parts: [fs, kernel], rawImageOf, isFinal: () => true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageProxyError);
    expect((err as ImageProxyError).type).toBe('SiteUnavailable');
    expect((err as ImageProxyError).message).toContain(site.settings.site);
    expect(site.commands('PutObjectCommand').length).toBeGreaterThanOrEqual(4); // both bundles went up first
    expect(site.commands('RegisterImageCommand')).toHaveLength(2);
    expect(await site.imagesNamed('imageproxy-')).toEqual([]);
    expect(await site.objects()).toEqual([]);
    expect(await readdir(workDirOf(site)).catch(() => [])).toEqual([]);
  });

  it('after a crash mid-upload, the next attempt skips the parts already uploaded', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w7'));
    const fs = await writePart(dir, 'FILESYSTEM', 14 * MiB); // incompressible: two parts
    const guid = newGuid();
    const name = imageNameOf('machine', fs);
    // The worker "dies" as the manifest goes up: nothing of its clean-up gets through either.
    site.failWhen((c) =>
      (c.name === 'PutObjectCommand' && String(c.input.Key).endsWith('.manifest.xml')) || c.name === 'DeleteObjectCommand'
        ? Object.assign(new Error('injected: connection reset'), { name: 'TimeoutError' })
        : undefined,
    );
    const err = await site.backend.register({ guid, metadataUrl: 'x', parts: [fs], rawImageOf }).catch((e: unknown) => e);
    expect((err as ImageProxyError).nonRetryable).toBe(false); // retried: nothing is undone
    expect((await site.objects()).sort()).toEqual([`${name}.part.00`, `${name}.part.01`]);

    site.failWhen(undefined);
    const mark = site.sent.length;
    const ids = await site.backend.register({ guid, metadataUrl: 'x', parts: [fs], rawImageOf });
    const puts = site.sent.slice(mark).filter((c) => c.name === 'PutObjectCommand').map((c) => c.input.Key);
    expect(puts).toEqual([`${name}.manifest.xml`]); // same key and IV, same bytes: the parts were recognised
    await proveBundle(site, name, 'machine', await readFile(fs.path));
    expect(await site.backend.lookup(guid)).toEqual(ids);
  });

  it('a registration that does not become available in time is undone on the last attempt', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w3'), { registrationTimeoutSeconds: 0 });
    const fs = await writePart(dir, 'FILESYSTEM', 2 * MiB);
    const err = await site.backend.register({ guid: newGuid(), metadataUrl: 'x', parts: [fs], rawImageOf, isFinal: () => true }).catch((e: unknown) => e);
    expect((err as ImageProxyError).type).toBe('SiteUnavailable');
    expect((err as Error).message).toMatch(/did not become available in time.*registration timeout 0 s/);
    expect(site.commands('RegisterImageCommand')).toHaveLength(1);
    expect(site.commands('RegisterImageCommand')[0]!.input.VirtualizationType).toBe('hvm'); // no kernel: hvm
    expect(await site.imagesNamed('imageproxy-')).toEqual([]);
    expect(await site.objects()).toEqual([]);
  });

  it('without the right to register kernels, says so; with kernelId/ramdiskId configured, uses them', async () => {
    const refused = await instrumentedSite(creds, join(dir, 'w4'));
    const fs = await writePart(dir, 'FILESYSTEM', 2 * MiB);
    const kernel = await writePart(dir, 'KERNEL', MiB);
    const ramdisk = await writePart(dir, 'RAMDISK', MiB);
    refused.failWhen((c) =>
      c.name === 'RegisterImageCommand' && String(c.input.Name).startsWith('imageproxy-kernel-')
        ? Object.assign(new Error('Only administrators can register kernel images'), { name: 'NotAuthorized', $metadata: { httpStatusCode: 403 } })
        : undefined,
    );
    const err = await refused.backend.register({ guid: newGuid(), metadataUrl: 'x', parts: [fs, kernel, ramdisk], rawImageOf }).catch((e: unknown) => e);
    expect((err as ImageProxyError).type).toBe('SiteRejected');
    expect((err as ImageProxyError).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(/only cloud administrators may register kernels.*kernelId/);
    expect((err as Error).message).not.toContain(creds.secretKey);
    expect(await refused.objects()).toEqual([]);

    // An administrator registered these once; the site names them.
    const admin = await instrumentedSite(creds, join(dir, 'w4b'));
    const eki = (await admin.ec2.send(new RegisterImageCommand({ Name: `eki-${newGuid()}`, ImageLocation: 'admin/vmlinuz.manifest.xml' }))).ImageId!;
    const eri = (await admin.ec2.send(new RegisterImageCommand({ Name: `eri-${newGuid()}`, ImageLocation: 'admin/initrd.manifest.xml' }))).ImageId!;
    const site = await instrumentedSite(creds, join(dir, 'w4c'), { kernelId: eki, ramdiskId: eri });
    const guid = newGuid();
    const ids = await site.backend.register({ guid, metadataUrl: 'x', parts: [fs, kernel, ramdisk], rawImageOf });
    expect(ids.KERNEL).toBe(eki);
    expect(ids.RAMDISK).toBe(eri);
    const calls = site.commands('RegisterImageCommand');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.input).toMatchObject({ KernelId: eki, RamdiskId: eri, VirtualizationType: 'paravirtual' });
    expect(await site.backend.lookup(guid)).toEqual(ids);
    await site.backend.deregister(guid);
    expect(await site.objects()).toEqual([]);
  });

  it('converts a QCOW2 part to raw with qemu-img and registers it as hvm', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w5'));
    const raw = await writePart(dir, 'FILESYSTEM', 3 * MiB, { zeros: MiB });
    const qcowPath = `${raw.path}.qcow2`;
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw.path, qcowPath]);
    const { createHash } = await import('node:crypto');
    const qcow = await readFile(qcowPath);
    const part: CachedPart = { type: 'QCOW2', hash: { algorithm: 'sha1', hex: createHash('sha1').update(qcow).digest('hex') }, url: 'http://o.invalid/q.qcow2', path: qcowPath, size: qcow.length };
    const ids = await site.backend.register({ guid: newGuid(), metadataUrl: 'x', parts: [part], rawImageOf });
    expect(Object.keys(ids)).toEqual(['QCOW2']);
    expect(site.commands('RegisterImageCommand')[0]!.input.VirtualizationType).toBe('hvm');
    await proveBundle(site, imageNameOf('machine', part), 'machine', await readFile(raw.path));
    expect(await readdir(workDirOf(site)).catch(() => [])).toEqual([]);
  });

  it('refuses a QCOW2 part that is not one, clearly and for good', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w6'));
    const bogus = await writePart(dir, 'QCOW2', 64 * 1024);
    const err = await site.backend.register({ guid: newGuid(), metadataUrl: 'x', parts: [bogus], rawImageOf }).catch((e: unknown) => e);
    expect((err as ImageProxyError).type).toBe('BadArchive');
    expect((err as ImageProxyError).nonRetryable).toBe(true);
    expect((err as Error).message).toContain(bogus.url);
    expect(site.commands('RegisterImageCommand')).toHaveLength(0);
  });
});
