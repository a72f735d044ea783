/**
 * The xcat site against a real OpenSSH server with stand-in xCAT commands: both input forms end as
 * an osimage whose files are the sources byte for byte; idempotent; failures undone; host key
 * pinned; every value quoted.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createXcatSite } from '../../../../activities/sites/xcat/xcat-site.js';
import { parseXcatSiteOptions } from '../../../../activities/sites/xcat/xcat-site-options.js';
import type { SiteConfig } from '../../../../config/config-schema.js';
import { createSiteBackend } from '../../../../workers/site-backends.js';
import { ErrorType, ImageProxyError } from '../../../../common/errors.js';
import type { CachedPart } from '../../../../common/image-types.js';
import { RegistrationFailedError } from '../../../../client/image-proxy-client.js';
import { registerWorkflowId } from '../../../../common/naming.js';
import { expectNoSecrets } from '../../../support/credential-leak-scan.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../../../support/image-proxy-world.js';
import { exists, XcatManagementNode } from '../../../support/xcat-management-node.js';
import { publishBundle, publishNetbootSet, type XcatSampleImage } from '../../../support/xcat-sample-images.js';

const sha1 = async (file: string): Promise<string> => createHash('sha1').update(await readFile(file)).digest('hex');
/** Files sftp-server wrote bytes to, so far (but request marks, which every request writes). */
const writesIn = (log: string): number => (log.match(/close ".*" bytes read \d+ written [1-9]\d*/g) ?? []).filter((l) => !l.includes('.requested.')).length;

/** The sample's parts as the backend receives them after download (for calls without a workflow). */
function cachedParts(image: XcatSampleImage): CachedPart[] {
  return image.parts.map((p) => ({ type: p.type, hash: { algorithm: 'sha1', hex: p.sha1 }, url: p.urlPath, path: p.path, size: p.size }));
}

async function failureOf(p: Promise<unknown>): Promise<ImageProxyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageProxyError);
  return err as ImageProxyError;
}

describe('xcat site over SSH', () => {
  let origin: HttpOrigin;
  let mn: XcatManagementNode;
  let world: World;
  const site = uniqueName('xcat');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    // An install root whose path holds shell metacharacters: it must reach every command quoted.
    mn = await new XcatManagementNode().start({ installRootName: `inst $(touch PWNED) ;x'y` });
    world = await startWorld({ sites: { [site]: mn.siteConfig() } });
  });
  afterAll(async () => {
    await world?.stop();
    await mn?.stop();
    await origin?.stop();
  });

  const backend = (extra: Record<string, unknown> = {}) =>
    createXcatSite({ site, config: parseXcatSiteOptions(site, mn.siteConfig(extra)), privateKey: readFileSync(mn.clientKeyPath) });

  it('makes a netboot set an osimage; the files are the sources; asked again, nothing is uploaded or defined', async () => {
    const image = await publishNetbootSet(origin, { kind: 'tar.gz' });
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    const name = `rhels8.6-x86_64-netboot-imageproxy-${image.guid}`;
    expect(result.ids.FILESYSTEM).toBe(name);
    const dir = join(mn.installRoot, 'netboot', 'rhels8.6', 'x86_64', `imageproxy-${image.guid}`);
    const byType = Object.fromEntries(image.parts.map((p) => [p.type, p]));
    expect(await sha1(join(dir, 'kernel'))).toBe(byType.KERNEL!.sha1);
    expect(await sha1(join(dir, 'initrd-stateless.gz'))).toBe(byType.RAMDISK!.sha1);
    expect(await sha1(join(dir, 'rootimg.tar.gz'))).toBe(byType.ZFILESYSTEM!.sha1);
    expect((await readdir(dir)).sort()).toEqual(['initrd-stateless.gz', 'kernel', 'rootimg.tar.gz']);
    expect(await mn.osimage(name)).toMatchObject({
      imagetype: 'linux',
      provmethod: 'netboot',
      osvers: 'rhels8.6',
      osarch: 'x86_64',
      profile: `imageproxy-${image.guid}`,
      rootimgdir: dir,
    });
    // Every command had its stdin closed, and the path with metacharacters arrived as one argument.
    const log = await mn.argvLog();
    expect(log.filter((e) => e.stdin_open)).toEqual([]);
    const mkdef = log.filter((e) => e.cmd === 'mkdef' && e.argv.includes(name));
    expect(mkdef).toHaveLength(1);
    expect(mkdef[0]!.argv).toContain(`rootimgdir=${dir}`);
    expect(await exists(join(homedir(), 'PWNED'))).toBe(false);
    expect((await mn.filesUnderInstallRoot()).filter((f) => f.includes('PWNED'))).toEqual([]);
    // Staging is cleaned up.
    expect(await readdir(join(mn.installRoot, '.imageproxy', 'staging'))).toEqual([]);

    const writes = writesIn(await mn.sftpLog());
    expect(writes).toBeGreaterThanOrEqual(3);
    const calls = (await mn.argvLog()).length;
    const again = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(again.alreadyRegistered).toBe(true);
    expect(again.ids).toEqual(result.ids);
    expect(writesIn(await mn.sftpLog())).toBe(writes);
    const newCalls = (await mn.argvLog()).slice(calls);
    expect(newCalls.map((e) => e.cmd)).toEqual(['lsdef']);

    // The SSH key stays on the worker: not in any payload of either run, nor in the worker logs.
    const keyLines = (await readFile(mn.clientKeyPath, 'utf8')).split('\n').filter((l) => l && !l.startsWith('-----'));
    await expectNoSecrets(world, [registerWorkflowId(site, image.guid)], Object.fromEntries(keyLines.map((l, i) => [`private key line ${i + 1}`, l])), 2);

    // Registering again through the backend (a retried activity) answers the same, defining nothing.
    const ids = await backend().register({ guid: image.guid, metadataUrl: image.url, parts: cachedParts(image), rawImageOf: async (p) => p.path });
    expect(ids).toEqual(result.ids);
    expect((await mn.argvLog()).filter((e) => e.cmd === 'mkdef' && e.argv.includes(name))).toHaveLength(1);
  });

  it('places a cpio root archive as rootimg.cpio.gz, provisions nodes with nodeset, and deregisters cleanly', async () => {
    const image = await publishNetbootSet(origin, { kind: 'cpio.gz' });
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    const dir = join(mn.installRoot, 'netboot', 'rhels8.6', 'x86_64', `imageproxy-${image.guid}`);
    expect(await sha1(join(dir, 'rootimg.cpio.gz'))).toBe(image.parts.find((p) => p.type === 'ZFILESYSTEM')!.sha1);

    await mn.addNode('cn01');
    await mn.addNode('cn02');
    const answers = await backend().provision(image.guid, ['cn01', 'cn02']);
    expect(answers).toEqual({
      cn01: { ok: true, detail: `netboot rhels8.6-x86_64-imageproxy-${image.guid}` },
      cn02: { ok: true, detail: `netboot rhels8.6-x86_64-imageproxy-${image.guid}` },
    });
    const bad = await backend().provision(image.guid, ['cn99']);
    expect(bad.cn99!.ok).toBe(false);
    expect(bad.cn99!.detail).toMatch(/Invalid nodes and\/or groups in noderange: cn99/);

    await backend().deregister(image.guid);
    expect(await mn.osimage(result.ids.FILESYSTEM!)).toBeUndefined();
    expect(await exists(dir)).toBe(false);
    expect(await backend().lookup(image.guid)).toBeUndefined();
    await backend().deregister(image.guid); // nothing to remove is not an error
  });

  it('undoes everything when mkdef fails: no files, no definition; then succeeds once xCAT is fixed', async () => {
    const image = await publishNetbootSet(origin);
    const before = await mn.filesUnderInstallRoot();
    await mn.failWith('mkdef', 'Could not update the osimage table.');
    const err = await world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await mn.clearFailures();
    expect(err).toBeInstanceOf(RegistrationFailedError);
    expect((err as Error).message).toMatch(/mkdef .*exit 1: Error: \[mn\]: Could not update the osimage table\./);
    expect(await mn.osimages()).not.toContain(`rhels8.6-x86_64-netboot-imageproxy-${image.guid}`);
    expect(await mn.filesUnderInstallRoot()).toEqual(before);

    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(result.ids.FILESYSTEM).toBe(`rhels8.6-x86_64-netboot-imageproxy-${image.guid}`);
  });

  it('imports an imgexport bundle with imgimport; the placed files are the bundled ones', async () => {
    const image = await publishBundle(origin, { imagename: `centos7-x86_64-netboot-b${Date.now()}`, installRoot: mn.installRoot });
    const profile = image.files.kernel.target.split('/').at(-2)!;
    const result = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(result.ids.FILESYSTEM).toMatch(/^centos7-x86_64-netboot-b\d+$/);
    expect(await mn.osimage(result.ids.FILESYSTEM!)).toMatchObject({ profile, provmethod: 'netboot' });
    for (const f of Object.values(image.files)) expect(await sha1(f.target)).toBe(await sha1(f.source));
    const imports = (await mn.argvLog()).filter((e) => e.cmd === 'imgimport');
    expect(imports).toHaveLength(1);
    expect(imports[0]!.cwd).toBe(join(mn.installRoot, '.imageproxy', 'staging', image.guid));

    const again = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(again.alreadyRegistered).toBe(true);
    expect((await mn.argvLog()).filter((e) => e.cmd === 'imgimport')).toHaveLength(1);
  });

  it('refuses a bundle whose manifest points outside the install root before imgimport runs', async () => {
    const image = await publishBundle(origin, { imagename: 'evil-image', installRoot: mn.installRoot, pointOutside: '/etc/rootimg.cpio.gz' });
    const calls = (await mn.argvLog()).length;
    const err = await world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/manifest points outside the install root .*: rootimg=\/etc\/rootimg\.cpio\.gz/);
    expect((await mn.argvLog()).slice(calls).map((e) => e.cmd)).not.toContain('imgimport');
    expect(await exists('/etc/rootimg.cpio.gz')).toBe(false);
  });

  it('refuses a bundle whose manifest names a relative image file before anything runs (the undo would rm -f it)', async () => {
    const image = await publishBundle(origin, { imagename: 'relative-image', installRoot: mn.installRoot, pointOutside: 'rootimg.cpio.gz' });
    const calls = (await mn.argvLog()).length;
    const err = await world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/manifest points outside the install root .*: rootimg\.cpio\.gz \(not an absolute path\)/);
    expect((await mn.argvLog()).slice(calls).map((e) => e.cmd)).toEqual([]);
  });

  it('refuses a wrong host key before authenticating; accepts the pinned key as a known_hosts line', async () => {
    const other = `SHA256:${createHash('sha256').update('another host').digest('base64').replace(/=+$/, '')}`;
    const logBefore = mn.log.length;
    const failure = await failureOf(backend({ hostKey: other }).lookup('0'.repeat(40)));
    expect(failure.type).toBe(ErrorType.Misconfigured);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(`presented host key ${mn.fingerprint}, which is not the pinned hostKey`);
    await new Promise((r) => setTimeout(r, 200));
    expect(mn.log.slice(logBefore)).not.toMatch(/Accepted publickey|Failed publickey|Postponed publickey/);

    expect(await backend({ hostKey: mn.knownHostsLine }).lookup('0'.repeat(40))).toBeUndefined();
  });

  it('takes a passphrase-protected key, its passphrase from a file beside the config; a wrong one fails at start, naming the site but not the passphrase', async () => {
    const keyPath = join(mn.dir, 'locked_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right horse battery', '-f', keyPath]);
    await writeFile(join(mn.dir, 'authorized_keys'), `${await readFile(`${mn.clientKeyPath}.pub`, 'utf8')}${await readFile(`${keyPath}.pub`, 'utf8')}`);
    await writeFile(join(mn.dir, 'right.pass'), 'right horse battery\n');
    await writeFile(join(mn.dir, 'wrong.pass'), 'wrong staple\n');
    // As the worker builds it: relative paths start at the config file's directory.
    const withFile = (file: string) =>
      createSiteBackend(mn.siteConfig({ privateKeyPath: 'locked_key', privateKeyPassphraseFile: file }) as SiteConfig, { site, dataDir: mn.dir, configDir: mn.dir });
    await expect(withFile('wrong.pass')).rejects.toThrow(new RegExp(`^xcat site ${site}: privateKeyPath or privateKeyPassphraseFile: `));
    await expect(withFile('wrong.pass')).rejects.not.toThrow(/wrong staple/);
    await expect(withFile('missing.pass')).rejects.toThrow(new RegExp(`xcat site ${site}: cannot read privateKeyPassphraseFile .*missing.pass: ENOENT`));
    expect(await (await withFile('right.pass')).lookup('2'.repeat(40))).toBeUndefined();
    expect(() => createXcatSite({ site, config: parseXcatSiteOptions(site, mn.siteConfig({ privateKeyPath: keyPath })), privateKey: readFileSync(keyPath) })).toThrow(
      new RegExp(`^xcat site ${site}: privateKeyPath: `),
    );
  });

  it('classifies xcatd down as retryable and permission denied as not', async () => {
    const image = await publishNetbootSet(origin);
    await mn.failWith('xcatd-down');
    const f1 = await failureOf(backend().register({ guid: image.guid, metadataUrl: image.url, parts: cachedParts(image), rawImageOf: async (p) => p.path }));
    await mn.clearFailures();
    expect(f1.type).toBe(ErrorType.SiteUnavailable);
    expect(f1.nonRetryable).toBe(false);
    expect(f1.message).toMatch(/Unable to open socket connection to xcatd daemon/);

    await mn.failWith('permission-denied');
    const f2 = await failureOf(backend().register({ guid: image.guid, metadataUrl: image.url, parts: cachedParts(image), rawImageOf: async (p) => p.path }));
    await mn.clearFailures();
    expect(f2.type).toBe(ErrorType.Misconfigured);
    expect(f2.nonRetryable).toBe(true);
    expect(f2.message).toMatch(/Permission denied for request/);
  });

  it('refuses a raw ext filesystem image with a clear error', async () => {
    const image = await publishNetbootSet(origin);
    const ext = Buffer.alloc(4096);
    ext.writeUInt16LE(0xef53, 1080);
    const rawPath = join(mn.dir, 'raw.img');
    await writeFile(rawPath, ext);
    const parts = cachedParts(image).map((p) => (p.type === 'ZFILESYSTEM' ? { ...p, type: 'FILESYSTEM' as const, path: rawPath, size: ext.length } : p));
    const failure = await failureOf(backend().register({ guid: image.guid, metadataUrl: image.url, parts, rawImageOf: async (p) => p.path }));
    expect(failure.type).toBe(ErrorType.BadArchive);
    expect(failure.message).toMatch(/raw ext filesystem image; xCAT netboot needs .* compressed tar or cpio archive/);
  });
});
