/**
 * The clean-up capabilities of a Eucalyptus site against a real moto_server: which images
 * ImageProxy registered (from their tags), when each was last requested, and whether an instance
 * runs one (DescribeInstances with an image-id filter; instances started with moto's RunInstances).
 */
import {
  CreateTagsCommand,
  EC2Client,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eucalyptusCleanUp, registeredImagesOf } from '../../../../activities/sites/eucalyptus/eucalyptus-clean-up.js';
import { freePort } from '../../../../workers/temporal-cli.js';
import { startProcess, type Running } from '../../../support/child-process.js';

const G1 = '1'.repeat(40);
const G2 = '2'.repeat(40);

describe('eucalyptus clean-up capabilities (moto_server)', () => {
  let moto: Running;
  let ec2: EC2Client;

  beforeAll(async () => {
    const port = await freePort();
    // scripts/install.sh puts moto_server into .venv unless it is on the PATH already.
    const program = existsSync('.venv/bin/moto_server') ? resolve('.venv/bin/moto_server') : 'moto_server';
    moto = startProcess(program, ['-H', '127.0.0.1', '-p', String(port)], { env: { MOTO_EC2_LOAD_DEFAULT_AMIS: 'false' } });
    const url = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 30_000; !(await fetch(`${url}/moto-api/`).then((r) => r.ok, () => false)); ) {
      if (Date.now() > deadline || moto.child.exitCode !== null) throw new Error(`moto_server did not start: ${moto.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    ec2 = new EC2Client({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
  });
  afterAll(async () => {
    ec2?.destroy();
    await moto?.stop();
  });

  /** An image as the backend leaves it: registered, then tagged with the answer for its GUID. */
  async function registered(name: string, guid: string, key: 'FILESYSTEM' | 'KERNEL'): Promise<string> {
    const { ImageId } = await ec2.send(new RegisterImageCommand({ Name: name, ImageLocation: `bukkit/${name}.manifest.xml` }));
    await ec2.send(new CreateTagsCommand({ Resources: [ImageId!], Tags: [{ Key: `imageproxy:guid:${guid}`, Value: `${key}=${ImageId}` }] }));
    return ImageId!;
  }

  it('lists registered images, records requests, and sees running instances', async () => {
    const emi1 = await registered('imageproxy-machine-1', G1, 'FILESYSTEM');
    const emi2 = await registered('imageproxy-machine-2', G2, 'FILESYSTEM');
    await ec2.send(new RegisterImageCommand({ Name: 'not-ours', ImageLocation: 'other/x.manifest.xml' }));
    const site = eucalyptusCleanUp(ec2);

    const listed = await site.listImages();
    expect(listed.map((i) => [i.guid, i.ids]).sort()).toEqual([
      [G1, { FILESYSTEM: emi1 }],
      [G2, { FILESYSTEM: emi2 }],
    ]);

    const at = new Date(Date.now() + 3_600_000); // later than any creation date moto gives
    await site.markRequested(G2, at);
    const after = Object.fromEntries((await site.listImages()).map((i) => [i.guid, i.lastRequestedAt.toISOString()]));
    expect(after[G2]).toBe(at.toISOString());
    expect(after[G1]).not.toBe(at.toISOString());

    expect(await site.inUse(G1)).toBe(false);
    const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: emi1, MinCount: 1, MaxCount: 1 }));
    expect(await site.inUse(G1)).toBe(true);
    expect(await site.inUse(G2)).toBe(false);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [Instances[0]!.InstanceId!] }));
    expect(await site.inUse(G1)).toBe(false);
  });

  it('reads one registration per GUID from the tags, ignoring incomplete ones', () => {
    const images = registeredImagesOf([
      {
        ImageId: 'emi-1',
        CreationDate: '2026-01-02T00:00:00.000Z',
        Tags: [
          { Key: `imageproxy:guid:${G1}`, Value: 'FILESYSTEM=emi-1,KERNEL=eki-1' },
          { Key: `imageproxy:requested:${G1}`, Value: '2026-03-01T00:00:00.000Z' },
          { Key: `imageproxy:guid:${G2}`, Value: 'pending' },
        ],
      },
      { ImageId: 'eki-1', CreationDate: '2026-01-01T00:00:00.000Z', Tags: [{ Key: `imageproxy:guid:${G1}`, Value: 'FILESYSTEM=emi-1,KERNEL=eki-1' }] },
    ]);
    expect(images).toEqual([
      {
        guid: G1,
        ids: { FILESYSTEM: 'emi-1', KERNEL: 'eki-1' },
        registeredAt: new Date('2026-01-01T00:00:00.000Z'),
        lastRequestedAt: new Date('2026-03-01T00:00:00.000Z'),
      },
    ]);
  });
});
