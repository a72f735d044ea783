/**
 * Which of the two forms an image's parts are, from their content (not their names):
 *  - an xCAT `imgexport` bundle: one (Z)FILESYSTEM part, a gzip'd tar holding `<name>/manifest.xml`;
 *  - a stateless netboot set: KERNEL + RAMDISK + a (Z)FILESYSTEM part that is a compressed tar or
 *    cpio archive, placed as `rootimg.<archive>.<compression>` (packimage's names).
 * A raw filesystem image (ext2/3/4) is refused: xCAT netboot wants an archive, and converting it on
 * the management node would need root tools we do not want to depend on.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import type { CachedPart } from '../../../common/image-types.js';
import { bundleMemberProblem } from './bundle-member-rule.js';
import { parseImgexportManifest, type ImgexportManifest } from './imgexport-manifest.js';

const lzma = createRequire(import.meta.url)('lzma-native') as { createDecompressor(): Transform };

export type InputForm =
  | { form: 'netboot'; kernel: CachedPart; ramdisk: CachedPart; rootimg: CachedPart; kind: string }
  | { form: 'bundle'; bundle: CachedPart; manifest: ImgexportManifest };

/** The parts cannot be made an osimage (never retried). */
export class InputFormError extends Error {
  override readonly name = 'InputFormError';
}

type Compression = 'gz' | 'xz' | 'bz2' | 'zst' | 'none';
type Archive = 'tar' | 'cpio' | 'ext' | 'unknown';

export async function detectInputForm(parts: readonly CachedPart[]): Promise<InputForm> {
  const fs = parts.filter((p) => p.type === 'FILESYSTEM' || p.type === 'ZFILESYSTEM');
  const kernel = parts.find((p) => p.type === 'KERNEL');
  const ramdisk = parts.find((p) => p.type === 'RAMDISK');
  const qcow = parts.find((p) => p.type === 'QCOW2');
  if (qcow) throw new InputFormError('a QCOW2 part cannot be an xCAT osimage; give a netboot set or an imgexport bundle');
  if (fs.length !== 1) throw new InputFormError(`an xCAT image needs one FILESYSTEM or ZFILESYSTEM part, got ${fs.length}`);
  const root = fs[0]!;
  const { compression, archive } = await sniff(root.path);

  if (!kernel && !ramdisk) {
    if (compression === 'gz' && archive === 'tar') {
      const manifest = await findManifest(root.path);
      if (manifest) return { form: 'bundle', bundle: root, manifest };
    }
    throw new InputFormError(
      `the ${root.type} part is not an imgexport bundle (a .tgz holding <name>/manifest.xml), and there is no KERNEL and RAMDISK for a netboot image`,
    );
  }
  if (!kernel || !ramdisk) throw new InputFormError(`a netboot image needs both KERNEL and RAMDISK; ${kernel ? 'RAMDISK' : 'KERNEL'} is missing`);
  if (archive === 'ext') {
    throw new InputFormError(
      `the ${root.type} part is a raw ext filesystem image; xCAT netboot needs the root filesystem as a compressed tar or cpio archive (rootimg.cpio.gz, …), raw images are refused`,
    );
  }
  if (archive !== 'tar' && archive !== 'cpio') throw new InputFormError(`the ${root.type} part is neither a tar nor a cpio archive (compression: ${compression})`);
  if (compression !== 'gz' && compression !== 'xz') {
    throw new InputFormError(`the ${root.type} part is a ${compression === 'none' ? 'uncompressed' : compression} ${archive} archive; xCAT netboot takes gzip or xz`);
  }
  return { form: 'netboot', kernel, ramdisk, rootimg: root, kind: `${archive}.${compression}` };
}

/** Compression and archive type of a file, from its first bytes. */
export async function sniff(path: string): Promise<{ compression: Compression; archive: Archive }> {
  const head = await readHead(createReadStream(path, { end: 65535 }), 65536);
  const compression = compressionOf(head);
  let inner = head;
  if (compression === 'gz' || compression === 'xz') {
    const decompressor = compression === 'gz' ? createGunzip() : lzma.createDecompressor();
    inner = await readHead(createReadStream(path).pipe(decompressor), 2048).catch(() => Buffer.alloc(0));
  } else if (compression !== 'none') {
    return { compression, archive: 'unknown' };
  }
  return { compression, archive: archiveOf(inner) };
}

export function compressionOf(b: Buffer): Compression {
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gz';
  if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bz2';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zst';
  return 'none';
}

export function archiveOf(b: Buffer): Archive {
  if (b.length >= 263 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  const magic = b.subarray(0, 6).toString('latin1');
  if (magic === '070701' || magic === '070702' || magic === '070707') return 'cpio';
  if (b.length >= 2 && (b.readUInt16LE(0) === 0o070707 || b.readUInt16BE(0) === 0o070707)) return 'cpio';
  if (b.length >= 1082 && b[1080] === 0x53 && b[1081] === 0xef) return 'ext';
  return 'unknown';
}

async function readHead(stream: NodeJS.ReadableStream & { destroy(): void }, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      chunks.push(c);
      n += c.length;
      if (n >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/**
 * The manifest of an imgexport bundle. The whole archive is read: every member name is checked too
 * (no absolute names, no `..`), since imgimport unpacks it as root.
 */
async function findManifest(path: string): Promise<ImgexportManifest | undefined> {
  const ex = tarExtract();
  let manifest: ImgexportManifest | undefined;
  let problem: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const name = header.name;
      problem ??= bundleMemberProblem(header);
      if (/^(\.\/)?[^/]+\/manifest\.xml$/.test(name) && header.type === 'file') {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => chunks.push(c as Buffer));
        stream.on('end', () => {
          try {
            manifest = parseImgexportManifest(Buffer.concat(chunks).toString('utf8'), name);
          } catch (err) {
            problem ??= (err as Error).message;
          }
          next();
        });
      } else {
        stream.on('end', () => next());
        stream.resume();
      }
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  createReadStream(path).pipe(createGunzip()).on('error', (e) => ex.destroy(e)).pipe(ex);
  await done.catch((err: Error) => {
    throw new InputFormError(`the bundle is not a readable .tgz: ${err.message}`);
  });
  if (problem) throw new InputFormError(problem);
  return manifest;
}
