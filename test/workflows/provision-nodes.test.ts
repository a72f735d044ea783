/**
 * `imageproxy provision`: boot bare-metal nodes from an image an xCAT site holds, as a
 * `provisionNodes` workflow on the site's queue, against the real sshd with the stand-in xCAT
 * commands. One outcome per node; a site that cannot provision, or a GUID it does not hold, is a
 * clear error.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionNodesResult } from '../../common/provision-contract.js';
import { CLI, runProcess } from '../support/child-process.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';
import { XcatManagementNode } from '../support/xcat-management-node.js';
import { publishNetbootSet } from '../support/xcat-sample-images.js';

describe('provisioning nodes from a registered image', () => {
  let origin: HttpOrigin;
  let mn: XcatManagementNode;
  let world: World;
  const site = uniqueName('xcatprov');
  const plain = uniqueName('plain');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    mn = await new XcatManagementNode().start();
    world = await startWorld({ sites: { [site]: mn.siteConfig(), [plain]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await mn?.stop();
    await origin?.stop();
  });

  const cli = (...args: string[]) => runProcess('node', [CLI, ...args], { env: { TEMPORAL_ADDRESS: world.address, IMAGEPROXY_DATA_DIR: world.dataDir } });
  const provmethodOf = async (node: string) => /^provmethod=(.*)$/m.exec(await readFile(join(mn.stateDir, 'nodes', node), 'utf8'))?.[1];

  it('sets each node to boot the osimage and reports every node; a node xCAT does not know is reported, not hidden', async () => {
    const image = await publishNetbootSet(origin);
    const { ids } = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    await mn.addNode('cn01');
    await mn.addNode('cn02');

    const out = await cli('provision', image.guid, '--site', site, '--node', 'cn02', '--node', 'cn01', '--json');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as ProvisionNodesResult;
    const answer = `netboot rhels8.6-x86_64-imageproxy-${image.guid}`; // nodeset's line: <osvers>-<osarch>-<profile>
    expect(result).toEqual({ guid: image.guid, site, nodes: { cn01: { ok: true, detail: answer }, cn02: { ok: true, detail: answer } }, failed: [] });
    expect(await provmethodOf('cn01')).toBe(ids.FILESYSTEM);
    expect(await provmethodOf('cn02')).toBe(ids.FILESYSTEM);
    const nodeset = (await mn.argvLog()).filter((e) => e.cmd === 'nodeset').map((e) => e.argv);
    expect(nodeset).toContainEqual(['cn02,cn01', `osimage=${ids.FILESYSTEM}`]);

    // The one node asked for failed: the request failed (1); some of several would be partly failed (2).
    const unknown = await cli('provision', image.guid, '--site', site, '--node', 'cn99');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/^cn99: FAILED .*Invalid nodes and\/or groups in noderange: cn99/m);

    // The run is in Temporal beside the GUID's registration.
    const runs = await world.client.list({ guid: image.guid, types: ['provisionNodes'] });
    expect(runs.length).toBeGreaterThanOrEqual(2);
  });

  it('says why when the site cannot provision, when the GUID is not registered there, or a node name is unsafe', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 64 << 10, KERNEL: 16 << 10, RAMDISK: 16 << 10 } });
    await world.client.registerImage({ url: image.url, guid: image.guid, site: plain });
    const local = await cli('provision', image.guid, '--site', plain, '--node', 'cn01');
    expect(local.code).not.toBe(0);
    expect(local.stderr).toMatch(new RegExp(`site ${plain} \\(type local\\) has no nodes to provision; only xcat sites do`));

    const other = await publishNetbootSet(origin);
    const missing = await cli('provision', other.guid, '--site', site, '--node', 'cn01');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(`no osimage registered for ${other.guid}`);

    const unsafe = await cli('provision', image.guid, '--site', site, '--node', 'cn01;reboot');
    expect(unsafe.code).not.toBe(0);
    expect(unsafe.stderr).toMatch(/not a node name: "cn01;reboot"/);
  });
});
