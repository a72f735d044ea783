/**
 * When a Eucalyptus registration undoes what it made, against a real moto_server: a failure that
 * is retried keeps what went up (the retry uploads no part twice, registers nothing twice); a
 * final failure takes away only what its own attempt made, never a kernel that another GUID's
 * image boots with.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedPart } from '../../../../common/image-types.js';
import { guidTagKey, imageNameOf } from '../../../../activities/sites/eucalyptus/eucalyptus-site.js';
import { describeImages } from '../../../../activities/sites/eucalyptus/register.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { newTestDir } from '../../../support/image-proxy-world.js';
import { startMotoServer, type MotoServer } from '../../../support/moto-server.js';
import { instrumentedSite, writePart } from './eucalyptus-fixture.js';
import { ImageProxyError } from '../../../../common/errors.js';

const MiB = 1024 * 1024;
const rawImageOf = async (p: CachedPart): Promise<string> => p.path;
let nextGuid = Math.floor(Math.random() * 1e6);
const newGuid = (): string => `${Date.now().toString(16).padStart(12, '0')}${(nextGuid++).toString(16).padStart(28, '0')}`;

describe('eucalyptus undo: only on a final failure, only what the attempt made', () => {
  let moto: MotoServer;
  let dir: string;
  let creds: EucalyptusCredentials;

  beforeAll(async () => {
    dir = await newTestDir('euca-undo');
    moto = await startMotoServer();
    creds = await writeEucalyptusCredentials(dir, { ec2Url: moto.url, s3Url: moto.url });
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a transient failure mid-upload, then the retry: no part uploaded twice, nothing registered twice, registered', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w1'));
    const kernel = await writePart(dir, 'KERNEL', MiB);
    const fs = await writePart(dir, 'FILESYSTEM', 24 * MiB); // incompressible: three bundle parts
    const guid = newGuid();
    let failed: string | undefined;
    site.failWhen((c) => {
      if (failed || c.name !== 'PutObjectCommand' || !String(c.input.Key).endsWith('.part.01') || !String(c.input.Key).startsWith('imageproxy-machine-')) return undefined;
      failed = String(c.input.Key);
      return Object.assign(new Error('injected: connection reset'), { name: 'TimeoutError' });
    });
    const err = await site.backend.register({ guid, metadataUrl: 'x', parts: [kernel, fs], rawImageOf, isFinal: () => false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageProxyError);
    expect((err as ImageProxyError).nonRetryable).toBe(false);
    expect(failed).toBeDefined();
    const kept = await site.objects();
    expect(kept.some((k) => k.startsWith('imageproxy-machine-') && k.endsWith('.part.00'))).toBe(true); // not undone

    site.failWhen(undefined);
    const mark = site.sent.length;
    const ids = await site.backend.register({ guid, metadataUrl: 'x', parts: [kernel, fs], rawImageOf, isFinal: () => false });
    const retried = site.sent.slice(mark).filter((c) => c.name === 'PutObjectCommand').map((c) => String(c.input.Key));
    expect(retried.filter((k) => kept.includes(k))).toEqual([]);
    // Every part object went up once, counting both attempts (the failed request did not land).
    const puts = site.commands('PutObjectCommand').map((c) => String(c.input.Key)).filter((k) => k.includes('.part.'));
    const landed = puts.filter((k, i) => !(k === failed && puts.indexOf(k) === i));
    expect(new Set(landed).size).toBe(landed.length);
    // The kernel registered by the first attempt was kept and found again.
    const kernelName = imageNameOf('kernel', kernel);
    expect(site.commands('RegisterImageCommand').filter((c) => c.input.Name === kernelName)).toHaveLength(1);
    expect(await site.backend.lookup(guid)).toEqual(ids);
    const images = await describeImages(site.ec2, [ids.FILESYSTEM!, ids.KERNEL!]);
    expect(images.map((i) => i.State)).toEqual(['available', 'available']);
  });

  it('two GUIDs share a kernel; one fails finally after the other adopted the kernel: the other stays registered and intact', async () => {
    const site = await instrumentedSite(creds, join(dir, 'w2'));
    const kernel = await writePart(dir, 'KERNEL', MiB);
    const fsA = await writePart(dir, 'FILESYSTEM', 2 * MiB);
    const fsB = await writePart(dir, 'FILESYSTEM', 2 * MiB);
    const [guidA, guidB] = [newGuid(), newGuid()];
    const machineB = `imageproxy-machine-${fsB.hash.hex.slice(0, 40)}`;
    site.failWhen((c) =>
      c.name === 'RegisterImageCommand' && String(c.input.Name).startsWith(machineB)
        ? Object.assign(new Error('injected: the cloud refuses the manifest'), { name: 'InvalidManifest' })
        : undefined,
    );
    // B registers the kernel; before B's machine image, A's whole registration runs and reuses it.
    let idsA: Awaited<ReturnType<typeof site.backend.register>> | undefined;
    const rawOfB = async (p: CachedPart): Promise<string> => {
      idsA = await site.backend.register({ guid: guidA, metadataUrl: 'a', parts: [fsA, kernel], rawImageOf });
      return p.path;
    };
    const err = await site.backend.register({ guid: guidB, metadataUrl: 'b', parts: [fsB, kernel], rawImageOf: rawOfB, isFinal: () => true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageProxyError);
    expect(idsA?.KERNEL).toBeDefined();
    expect(site.commands('RegisterImageCommand').filter((c) => c.input.Name === imageNameOf('kernel', kernel))).toHaveLength(1); // shared

    // A: still found, every image available, the kernel's bundle still in the bucket.
    expect(await site.backend.lookup(guidA)).toEqual(idsA);
    const images = await describeImages(site.ec2, [idsA!.FILESYSTEM!, idsA!.KERNEL!]);
    expect(images.map((i) => i.State)).toEqual(['available', 'available']);
    const objects = await site.objects();
    expect(objects).toContain(`${imageNameOf('kernel', kernel)}.manifest.xml`);
    // B: its own machine bundle removed, its tag gone from the kernel, nothing found for it.
    expect(objects.filter((k) => k.startsWith(machineB))).toEqual([]);
    const kernelImage = images.find((i) => i.ImageId === idsA!.KERNEL)!;
    expect(kernelImage.Tags?.some((t) => t.Key === guidTagKey(guidB))).toBe(false);
    expect(await site.backend.lookup(guidB)).toBeUndefined();
  });
});
