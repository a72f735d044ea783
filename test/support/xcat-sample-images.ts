/**
 * Images in the two forms an xCAT site takes, published on a test origin: a stateless netboot set
 * (kernel, initrd, and a real tar or cpio root archive, gzip'd) and an imgexport bundle (a .tgz
 * holding `<name>/manifest.xml` and the image's files, as `imgexport` writes it).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pseudoRandomBytes, sha1Hex } from '../../client/demo/sample-image.js';
import type { PartType } from '../../common/image-types.js';
import type { HttpOrigin } from './http-origin.js';
import { newTestDir } from './image-proxy-world.js';

const run = promisify(execFile);
let seed = Math.floor(Math.random() * 1e6);

export interface XcatSamplePart {
  type: PartType;
  path: string;
  sha1: string;
  size: number;
  urlPath: string;
}

export interface XcatSampleImage {
  url: string;
  guid: string;
  parts: XcatSamplePart[];
}

/** A minimal newc cpio archive of `files` (what packimage -a cpio makes). */
export function newcCpio(files: { name: string; data: Buffer }[]): Buffer {
  const out: Buffer[] = [];
  const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (name: string, data: Buffer, mode: number, ino: number): void => {
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
    const head = Buffer.concat([Buffer.from(header), Buffer.from(`${name}\0`)]);
    out.push(head, pad4(head.length), data, pad4(data.length));
  };
  files.forEach((f, i) => entry(f.name, f.data, 0o100644, i + 1));
  entry('TRAILER!!!', Buffer.alloc(0), 0, 0);
  return Buffer.concat(out);
}

/** A root filesystem archive: `tar.gz` (real GNU tar) or `cpio.gz`, holding `rootSize` random bytes. */
export async function writeRootArchive(dir: string, kind: 'tar.gz' | 'cpio.gz', rootSize: number, s: number): Promise<string> {
  const tree = join(dir, `rootimg-${s}`);
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc', 'hostname'), `node-${s}\n`);
  const payload = pseudoRandomBytes(rootSize, s);
  await writeFile(join(tree, 'payload.bin'), payload);
  const file = join(dir, `rootimg-${s}.${kind}`);
  if (kind === 'tar.gz') await run('tar', ['czf', file, '-C', tree, '.']);
  else await writeFile(file, gzipSync(newcCpio([{ name: 'etc/hostname', data: Buffer.from(`node-${s}\n`) }, { name: 'payload.bin', data: payload }])));
  return file;
}

async function publish(origin: HttpOrigin, dir: string, files: { type: PartType; path: string }[]): Promise<XcatSampleImage> {
  const prefix = `/${sha1Hex(dir).slice(0, 8)}`;
  const parts: XcatSamplePart[] = [];
  for (const f of files) {
    const data = await readFile(f.path);
    // File names with shell metacharacters: they must never reach a shell unquoted.
    const urlPath = `${prefix}/${f.type.toLowerCase()}%20%24(touch%20PWNED)%3Bx.img`;
    await origin.addFile(urlPath, f.path);
    parts.push({ type: f.type, path: f.path, sha1: sha1Hex(data), size: data.length, urlPath });
  }
  const xml = `<?xml version="1.0"?>\n<images>\n${parts
    .map((p) => `  <image>\n    <type>${p.type}</type>\n    <signature>${p.sha1}</signature>\n    <url>${origin.baseUrl}${p.urlPath}</url>\n  </image>\n`)
    .join('')}</images>\n`;
  const url = origin.addBuffer(`${prefix}/image.xml`, xml);
  return { url, guid: sha1Hex(xml), parts };
}

/** KERNEL + RAMDISK + ZFILESYSTEM (a gzip'd tar or cpio root archive). */
export async function publishNetbootSet(
  origin: HttpOrigin,
  opts: { kind?: 'tar.gz' | 'cpio.gz'; rootSize?: number } = {},
): Promise<XcatSampleImage & { dir: string }> {
  const dir = await newTestDir('xcat-origin');
  const s = seed++;
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.gz');
  await writeFile(kernel, pseudoRandomBytes(200_000, s * 7 + 1));
  await writeFile(initrd, gzipSync(pseudoRandomBytes(300_000, s * 7 + 2)));
  const rootimg = await writeRootArchive(dir, opts.kind ?? 'tar.gz', opts.rootSize ?? 1 << 20, s * 7 + 3);
  const image = await publish(origin, dir, [
    { type: 'KERNEL', path: kernel },
    { type: 'RAMDISK', path: initrd },
    { type: 'ZFILESYSTEM', path: rootimg },
  ]);
  return { ...image, dir };
}

/**
 * An imgexport bundle for osimage `imagename` whose files go under `installRoot`; `pointOutside`
 * puts the rootimg path at `/etc/...` instead.
 */
export async function publishBundle(
  origin: HttpOrigin,
  opts: { imagename: string; installRoot: string; pointOutside?: string },
): Promise<XcatSampleImage & { files: Record<'kernel' | 'ramdisk' | 'rootimg', { target: string; source: string }> }> {
  const dir = await newTestDir('xcat-bundle');
  const s = seed++;
  const { imagename, installRoot } = opts;
  const imgdir = join(dir, 'tree', imagename);
  await mkdir(imgdir, { recursive: true });
  const rootimgdir = `${installRoot}/netboot/centos7/x86_64/bundle-${s}`;
  const targets = {
    kernel: `${rootimgdir}/kernel`,
    ramdisk: `${rootimgdir}/initrd-stateless.gz`,
    rootimg: opts.pointOutside ?? `${rootimgdir}/rootimg.cpio.gz`,
  };
  await writeFile(join(imgdir, 'kernel'), pseudoRandomBytes(150_000, s * 5 + 1));
  await writeFile(join(imgdir, 'initrd-stateless.gz'), gzipSync(pseudoRandomBytes(100_000, s * 5 + 2)));
  const rootimgName = targets.rootimg.split('/').pop()!;
  await writeFile(
    join(imgdir, rootimgName),
    gzipSync(newcCpio([{ name: 'etc/hostname', data: Buffer.from('bundled\n') }, { name: 'payload.bin', data: pseudoRandomBytes(400_000, s * 5 + 3) }])),
  );
  // As imgport.pm writes it: XML::Simple, RootName xcatimage, noattr.
  const manifest = `<?xml version="1.0"?>
<xcatimage>
  <kernel>${targets.kernel}</kernel>
  <linuximage>
    <imagename>${imagename}</imagename>
    <rootimgdir>${rootimgdir}</rootimgdir>
  </linuximage>
  <osimage>
    <imagename>${imagename}</imagename>
    <imagetype>linux</imagetype>
    <osarch>x86_64</osarch>
    <osname>Linux</osname>
    <osvers>centos7</osvers>
    <profile>bundle-${s}</profile>
    <provmethod>netboot</provmethod>
  </osimage>
  <ramdisk>${targets.ramdisk}</ramdisk>
  <rootimg>${targets.rootimg}</rootimg>
</xcatimage>
`;
  await writeFile(join(imgdir, 'manifest.xml'), manifest);
  const bundle = join(dir, `${imagename}.tgz`);
  await run('tar', ['czf', bundle, '-C', join(dir, 'tree'), '.']);
  const image = await publish(origin, dir, [{ type: 'ZFILESYSTEM', path: bundle }]);
  const source = (n: string): string => join(imgdir, n);
  return {
    ...image,
    files: {
      kernel: { target: targets.kernel, source: source('kernel') },
      ramdisk: { target: targets.ramdisk, source: source('initrd-stateless.gz') },
      rootimg: { target: targets.rootimg, source: source(rootimgName) },
    },
  };
}
