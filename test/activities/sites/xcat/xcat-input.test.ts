import { describe, expect, it } from 'vitest';
import { bundleMemberProblem } from '../../../../activities/sites/xcat/bundle-member-rule.js';
import { archiveOf, compressionOf } from '../../../../activities/sites/xcat/detect-input-form.js';
import { fingerprintOf, hostKeyMatches, parseHostKeyPin } from '../../../../activities/sites/xcat/host-key-pin.js';
import { parseImgexportManifest, pathsOutside } from '../../../../activities/sites/xcat/imgexport-manifest.js';
import { netbootNamesOf } from '../../../../activities/sites/xcat/osimage-naming.js';
import { checkName, checkPathUnder } from '../../../../activities/sites/xcat/remote-values.js';
import { parseXcatSiteOptions } from '../../../../activities/sites/xcat/xcat-site-options.js';

const manifest = (rootimg: string, extra = ''): string => `<?xml version="1.0"?>
<xcatimage><kernel>/install/netboot/c7/x86_64/p/kernel</kernel>
<linuximage><imagename>img</imagename><rootimgdir>/install/netboot/c7/x86_64/p</rootimgdir></linuximage>
<osimage><imagename>img</imagename><osarch>x86_64</osarch><osvers>c7</osvers><profile>p</profile><provmethod>netboot</provmethod></osimage>
<ramdisk>/install/netboot/c7/x86_64/p/initrd-stateless.gz</ramdisk><rootimg>${rootimg}</rootimg>${extra}</xcatimage>`;

describe('xcat pure parts', () => {
  it('names a netboot image from the GUID, xCAT style', () => {
    const guid = 'a'.repeat(40);
    expect(netbootNamesOf(guid, { osvers: 'rhels8.6', osarch: 'x86_64', profilePrefix: 'ip', installRoot: '/install' })).toEqual({
      profile: `ip-${guid}`,
      osimage: `rhels8.6-x86_64-netboot-ip-${guid}`,
      dir: `/install/netboot/rhels8.6/x86_64/ip-${guid}`,
    });
    expect(() => netbootNamesOf(guid, { osvers: 'x;y', osarch: 'x86_64', profilePrefix: 'ip', installRoot: '/install' })).toThrow(/osvers "x;y" is not a valid name/);
  });

  it('checks names and paths against the allowlists', () => {
    expect(() => checkName('-f', 'node')).toThrow(/not a valid name/);
    expect(() => checkName('a b', 'node')).toThrow();
    expect(checkName('cn01.rack-1_a', 'node')).toBe('cn01.rack-1_a');
    expect(checkPathUnder('/install/a/b', '/install', 'p')).toBe('/install/a/b');
    expect(() => checkPathUnder('/install/../etc', '/install', 'p')).toThrow(/".."/);
    expect(() => checkPathUnder('/installer/x', '/install', 'p')).toThrow(/not under the install root/);
    expect(() => checkPathUnder('install/x', '/install', 'p')).toThrow(/absolute/);
  });

  it('reads an imgexport manifest and finds every path outside the install root', () => {
    const ok = parseImgexportManifest(manifest('/install/netboot/c7/x86_64/p/rootimg.cpio.gz'), 'm');
    expect(ok).toMatchObject({ imagename: 'img', osvers: 'c7', osarch: 'x86_64', profile: 'p', provmethod: 'netboot' });
    expect(ok.imageFiles).toHaveLength(3);
    expect(pathsOutside(ok, '/install')).toEqual([]);
    const bad = parseImgexportManifest(manifest('/etc/cron.d/rootimg.cpio.gz', '<extra><src>/x</src><dest>/install/../root</dest></extra>'), 'm');
    expect(pathsOutside(bad, '/install')).toEqual(['rootimg=/etc/cron.d/rootimg.cpio.gz', 'extra.src=/x', 'extra.dest=/install/../root']);
    // A relative image file escapes the check on absolute paths; it would reach the undo's rm -f.
    const relative = parseImgexportManifest(manifest('netboot/rootimg.cpio.gz'), 'm');
    expect(pathsOutside(relative, '/install')).toEqual(['netboot/rootimg.cpio.gz (not an absolute path)']);
    expect(() => parseImgexportManifest(manifest('/install/r').replace('<imagename>img</imagename></', '<imagename>a;b</imagename></').replace(/<osimage><imagename>img/, '<osimage><imagename>a;b'), 'm')).toThrow(/not a valid name/);
    expect(() => parseImgexportManifest('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xcatimage/>', 'm')).toThrow(/DOCTYPE/);
  });

  it('tells compressions and archives apart by their bytes', () => {
    expect(compressionOf(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]))).toBe('gz');
    expect(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]))).toBe('xz');
    expect(compressionOf(Buffer.from('BZh91AY&'))).toBe('bz2');
    const tar = Buffer.alloc(512);
    tar.write('ustar', 257);
    expect(archiveOf(tar)).toBe('tar');
    expect(archiveOf(Buffer.from('07070100000001'))).toBe('cpio');
    const ext = Buffer.alloc(2048);
    ext.writeUInt16LE(0xef53, 1080);
    expect(archiveOf(ext)).toBe('ext');
  });

  it('pins host keys by fingerprint or known_hosts line', () => {
    const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIG7x9v0ZQ1cF0sZt6u0c8nq0m2uY7pWl2v0Tq1lq9X2x', 'base64');
    const fp = fingerprintOf(blob);
    expect(hostKeyMatches(parseHostKeyPin(fp), blob)).toBe(true);
    expect(hostKeyMatches(parseHostKeyPin(`mn.example ssh-ed25519 ${blob.toString('base64')}`), blob)).toBe(true);
    expect(hostKeyMatches(parseHostKeyPin(fp), Buffer.concat([blob, Buffer.from([0])]))).toBe(false);
  });

  it('validates site options with the site name and never echoes the passphrase', () => {
    const base = { type: 'xcat', host: 'mn', user: 'root', privateKeyPath: 'k', hostKey: `SHA256:${'A'.repeat(43)}` };
    const opts = parseXcatSiteOptions('hpc', { ...base, installRoot: '/install/' });
    expect(opts).toMatchObject({ port: 22, sudo: false, installRoot: '/install', osarch: 'x86_64', commands: { lsdef: '/opt/xcat/bin/lsdef', nodeset: '/opt/xcat/sbin/nodeset' } });
    const secret = 'hunter2-very-secret';
    let message = '';
    try {
      parseXcatSiteOptions('hpc', { ...base, passphrase: secret, hostKey: 'trust me', port: 0, surprise: secret });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^xcat site hpc: /);
    expect(message).toMatch(/hostKey: an OpenSSH "SHA256:…" fingerprint or a known_hosts line/);
    expect(message).toMatch(/port/);
    expect(message).not.toContain(secret);
  });

  it('refuses bundle members named or linking outside the bundle, absolute symlinks included', () => {
    expect(bundleMemberProblem({ name: './img/manifest.xml', type: 'file' })).toBeUndefined();
    expect(bundleMemberProblem({ name: './img/initrd', type: 'symlink', linkname: 'initrd-stateless.gz' })).toBeUndefined();
    expect(bundleMemberProblem({ name: 'img/a/b', type: 'symlink', linkname: '../kernel' })).toBeUndefined();
    expect(bundleMemberProblem({ name: 'img/k2', type: 'link', linkname: 'img/kernel' })).toBeUndefined();
    expect(bundleMemberProblem({ name: '/etc/passwd', type: 'file' })).toMatch(/"\/etc\/passwd" escapes the bundle/);
    expect(bundleMemberProblem({ name: 'img/../../x', type: 'file' })).toMatch(/escapes the bundle/);
    expect(bundleMemberProblem({ name: 'img/shadow', type: 'symlink', linkname: '/etc/shadow' })).toMatch(/"img\/shadow" links outside the bundle \(to the absolute path "\/etc\/shadow"\)/);
    expect(bundleMemberProblem({ name: 'img/up', type: 'symlink', linkname: '../../etc' })).toMatch(/"img\/up" links outside the bundle \(to "..\/..\/etc"\)/);
    expect(bundleMemberProblem({ name: 'img/h', type: 'link', linkname: '/etc/shadow' })).toMatch(/absolute path/);
  });

  it('refuses an inline passphrase at load, saying where it goes instead, without echoing it', () => {
    const base = { type: 'xcat', host: 'mn', user: 'root', privateKeyPath: 'k', hostKey: `SHA256:${'A'.repeat(43)}` };
    const secret = 'correct-horse-inline';
    expect(() => parseXcatSiteOptions('hpc', { ...base, passphrase: secret })).toThrow(
      /^xcat site hpc: passphrase: an inline passphrase is refused; put it in a file and name that file in privateKeyPassphraseFile$/,
    );
    expect(parseXcatSiteOptions('hpc', { ...base, privateKeyPassphraseFile: 'key.pass' }).privateKeyPassphraseFile).toBe('key.pass');
  });
});
