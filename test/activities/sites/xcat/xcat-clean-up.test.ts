/**
 * The cloud clean-up at an xCAT site, end to end: real Temporal, real workers, a real OpenSSH
 * server with the stand-in xCAT commands, and `imageproxy gc` in its own process. An old osimage
 * no node is provisioned with is deregistered; one a node's provmethod names stays, and so does one
 * asked for again; `--dry-run` changes nothing; a site that cannot say which nodes use an image
 * never has it removed.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createXcatSite } from '../../../../activities/sites/xcat/xcat-site.js';
import { parseXcatSiteOptions } from '../../../../activities/sites/xcat/xcat-site-options.js';
import { ErrorType, ImageProxyError } from '../../../../common/errors.js';
import { CLI, runProcess } from '../../../support/child-process.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../../../support/image-proxy-world.js';
import { exists, XcatManagementNode } from '../../../support/xcat-management-node.js';
import { publishNetbootSet, type XcatSampleImage } from '../../../support/xcat-sample-images.js';
import { actionsByGuid, gcCli } from '../../../support/gc-cli.js';
import { timeBetweenRequests } from '../../../support/time-between-requests.js';


describe('clean-up at an xcat site', () => {
  let origin: HttpOrigin;
  let mn: XcatManagementNode;
  let world: World;
  const site = uniqueName('xcatgc');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    mn = await new XcatManagementNode().start();
    world = await startWorld({ sites: { [site]: mn.siteConfig() } });
  });
  afterAll(async () => {
    await world?.stop();
    await mn?.stop();
    await origin?.stop();
  });

  const backend = () => createXcatSite({ site, config: parseXcatSiteOptions(site, mn.siteConfig()), privateKey: readFileSync(mn.clientKeyPath) });
  const osimageOf = (i: XcatSampleImage) => `rhels8.6-x86_64-netboot-imageproxy-${i.guid}`;
  const dirOf = (i: XcatSampleImage) => join(mn.installRoot, 'netboot', 'rhels8.6', 'x86_64', `imageproxy-${i.guid}`);
  const recordsDir = () => join(mn.installRoot, '.imageproxy', 'images');
  const recordOf = (i: XcatSampleImage) => join(recordsDir(), `${i.guid}.json`);

  const gc = (...args: string[]) => gcCli(world, site, ...args);

  it('deregisters an old osimage no node uses, keeps one a node is provisioned with and one asked for again; --dry-run changes nothing', async () => {
    const register = (i: XcatSampleImage) => world.client.registerImage({ url: i.url, guid: i.guid, site });
    const [old, used, again, fresh] = [await publishNetbootSet(origin), await publishNetbootSet(origin), await publishNetbootSet(origin), await publishNetbootSet(origin)];
    for (const i of [old, used, again]) await register(i);
    // cn01 is provisioned with `used` (nodeset sets its provmethod to the osimage); cn02 boots something else.
    await mn.addNode('cn01');
    await mn.addNode('cn02');
    expect((await backend().provision(used.guid, ['cn01'])).cn01!.ok).toBe(true);
    expect(await backend().inUse(used.guid)).toBe(true);
    expect(await backend().inUse(old.guid)).toBe(false);

    const listed = await backend().listImages();
    expect(listed.map((i) => i.guid).sort()).toEqual([old.guid, used.guid, again.guid].sort());
    expect(listed.find((i) => i.guid === old.guid)!.ids.FILESYSTEM).toBe(osimageOf(old));

    // An absolute cutoff between the first requests and the later ones, so a slow CLI start cannot
    // age the later ones past it.
    const cutoff = await timeBetweenRequests();
    await register(fresh);
    expect((await register(again)).alreadyRegistered).toBe(true); // a request marks it at the site
    expect(await readdir(recordsDir())).toContain(`${again.guid}.requested`);

    const dry = await gc('--not-requested-since', cutoff, '--dry-run');
    expect(dry.dryRun).toBe(true);
    expect(dry.imagesSeen).toBe(4);
    expect(actionsByGuid(dry)).toEqual({ [old.guid]: 'would-deregister', [used.guid]: 'kept-in-use' });
    for (const i of [old, used, again, fresh]) {
      expect(await mn.osimage(osimageOf(i))).toBeDefined();
      expect(await exists(recordOf(i))).toBe(true);
    }
    // It asked xCAT which nodes use each candidate, in xCAT's own terms.
    const asked = (await mn.argvLog()).filter((e) => e.cmd === 'lsdef' && e.argv.includes('-w')).map((e) => e.argv.join(' '));
    expect(asked).toContain(`-t node -w provmethod==${osimageOf(old)} -i provmethod`);
    expect(asked).toContain(`-t node -w provmethod==${osimageOf(used)} -i provmethod`);

    const real = await world.client.collectGarbage({ site, notRequestedSince: cutoff });
    expect(actionsByGuid(real)).toEqual({ [old.guid]: 'deregistered', [used.guid]: 'kept-in-use' });
    expect(await mn.osimage(osimageOf(old))).toBeUndefined();
    expect(await exists(dirOf(old))).toBe(false);
    expect(await exists(recordOf(old))).toBe(false);
    for (const i of [used, again, fresh]) {
      expect(await mn.osimage(osimageOf(i))).toBeDefined();
      expect(await exists(join(dirOf(i), 'kernel'))).toBe(true);
    }

    // Once no node uses it any more (an admin's chdef on the management node), `used` goes too.
    const chdef = (mn.siteConfig().commands as Record<string, string>).chdef!;
    const out = await runProcess(chdef, ['-t', 'node', '-o', 'cn01', 'provmethod=netboot'], { env: { XCAT_STANDIN_STATE: mn.stateDir } });
    expect(out.code).toBe(0);
    expect(await backend().inUse(used.guid)).toBe(false);
    // A node that names the netboot set the older way (provmethod=netboot + its profile) uses it too.
    const mkdef = (mn.siteConfig().commands as Record<string, string>).mkdef!;
    const cn03 = ['-t', 'node', '-o', 'cn03', 'provmethod=netboot', 'os=rhels8.6', 'arch=x86_64', `profile=imageproxy-${used.guid}`];
    expect((await runProcess(mkdef, cn03, { env: { XCAT_STANDIN_STATE: mn.stateDir } })).code).toBe(0);
    expect(await backend().inUse(used.guid)).toBe(true);
    const rmdef = (mn.siteConfig().commands as Record<string, string>).rmdef!;
    expect((await runProcess(rmdef, ['-t', 'node', '-o', 'cn03'], { env: { XCAT_STANDIN_STATE: mn.stateDir } })).code).toBe(0);
    expect(await backend().inUse(used.guid)).toBe(false);
    const after = await world.client.collectGarbage({ site, notRequestedSince: cutoff });
    expect(actionsByGuid(after)[used.guid]).toBe('deregistered'); // (the others are older than 10 s by now too)
    expect(await mn.osimage(osimageOf(used))).toBeUndefined();
  });

  it('never reports "not in use" when xCAT cannot answer; the clean-up keeps the image and says why', async () => {
    const image = await publishNetbootSet(origin);
    await world.client.registerImage({ url: image.url, guid: image.guid, site });
    await mn.failWith('xcatd-down');
    try {
      const err = await backend()
        .inUse(image.guid)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(ImageProxyError);
      expect((err as ImageProxyError).type).toBe(ErrorType.SiteUnavailable);
      expect((err as ImageProxyError).message).toMatch(/cannot tell which nodes use osimage .*Unable to open socket connection to xcatd daemon/);
    } finally {
      await mn.clearFailures();
    }
    expect(await mn.osimage(osimageOf(image))).toBeDefined();
  });
});
