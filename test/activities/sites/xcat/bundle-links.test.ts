/** An imgexport bundle with a link to an absolute path is refused before imgimport (it unpacks as root). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { detectInputForm } from '../../../../activities/sites/xcat/detect-input-form.js';
import { newTestDir } from '../../../support/image-proxy-world.js';

const MANIFEST = `<?xml version="1.0"?>
<xcatimage><kernel>/install/netboot/c7/x86_64/p/kernel</kernel>
<osimage><imagename>img</imagename><osarch>x86_64</osarch><osvers>c7</osvers><profile>p</profile><provmethod>netboot</provmethod></osimage>
<ramdisk>/install/netboot/c7/x86_64/p/initrd-stateless.gz</ramdisk><rootimg>/install/netboot/c7/x86_64/p/rootimg.cpio.gz</rootimg></xcatimage>`;

async function bundle(dir: string, link: { name: string; linkname: string } | undefined): Promise<string> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => p.on('end', () => r()));
  p.entry({ name: 'img/manifest.xml' }, MANIFEST);
  if (link) p.entry({ name: link.name, type: 'symlink', linkname: link.linkname });
  p.finalize();
  await ended;
  const path = join(dir, `bundle-${Math.random().toString(16).slice(2)}.tgz`);
  await writeFile(path, gzipSync(Buffer.concat(chunks)));
  return path;
}

const part = (path: string) => ({ type: 'FILESYSTEM' as const, url: 'http://x/b.tgz', hash: { algorithm: 'sha1' as const, hex: 'a'.repeat(40) }, path, size: 1 });

describe('imgexport bundle links', () => {
  it('refuses an absolute symlink and a .. symlink; a link inside the bundle is fine', async () => {
    const dir = await newTestDir('bundle-links');
    await expect(detectInputForm([part(await bundle(dir, { name: 'img/passwd', linkname: '/etc/passwd' }))])).rejects.toThrow(/img\/passwd" links outside the bundle/);
    await expect(detectInputForm([part(await bundle(dir, { name: 'img/up', linkname: '../../etc' }))])).rejects.toThrow(/links outside the bundle/);
    await expect(detectInputForm([part(await bundle(dir, { name: 'img/same', linkname: 'manifest.xml' }))])).resolves.toMatchObject({ form: 'bundle' });
  });
});
