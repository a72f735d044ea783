/**
 * The `manifest.xml` of an xCAT `imgexport` bundle (imgport.pm writes it with XML::Simple,
 * `RootName => 'xcatimage'`, `noattr => 1`):
 *   <xcatimage><osimage><imagename/><osvers/><osarch/><profile/><provmethod/>…</osimage>
 *     <linuximage><rootimgdir/><pkglist/>…</linuximage><kernel/><ramdisk/><rootimg/>
 *     <extra><src/><dest/></extra>…</xcatimage>
 * `imgimport` moves files to the paths it names (as root), so every path in it is checked against
 * the install root before anything runs. Pure.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { NAME_RULE, isUnder } from './remote-values.js';

export interface ImgexportManifest {
  imagename: string;
  osvers: string;
  osarch: string;
  profile: string;
  provmethod: string;
  /** Every absolute path the manifest holds, with where it was found (`linuximage.rootimgdir`). */
  paths: { field: string; path: string }[];
  /** The files imgimport places for the image (kernel, ramdisk, rootimg, …), absolute paths. */
  imageFiles: string[];
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: false });

export function parseImgexportManifest(xml: string, where: string): ImgexportManifest {
  if (/<!DOCTYPE/i.test(xml)) throw new ManifestError(`${where}: must not contain a DOCTYPE`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new ManifestError(`${where}: not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  const doc = parser.parse(xml) as Record<string, unknown>;
  const root = doc.xcatimage;
  if (!isRecord(root)) throw new ManifestError(`${where}: no <xcatimage> root element`);
  const osimage = root.osimage;
  if (!isRecord(osimage)) throw new ManifestError(`${where}: no <osimage> element`);
  const field = (k: string): string => {
    const v = osimage[k];
    if (typeof v !== 'string' || v === '') throw new ManifestError(`${where}: <osimage><${k}> is missing`);
    return v;
  };
  const imagename = field('imagename');
  if (!NAME_RULE.test(imagename)) throw new ManifestError(`${where}: osimage name ${JSON.stringify(imagename)} is not a valid name`);
  const paths: { field: string; path: string }[] = [];
  collectPaths(root, 'xcatimage', paths);
  const imageFiles = ['kernel', 'ramdisk', 'rootimg', 'rootimgtree', 'litefile'].flatMap((k) =>
    typeof root[k] === 'string' ? (root[k] as string).split(',').filter((p) => p !== '') : [],
  );
  return { imagename, osvers: field('osvers'), osarch: field('osarch'), profile: field('profile'), provmethod: field('provmethod'), paths, imageFiles };
}

/**
 * The manifest's paths that are not under `installRoot` (or contain `..`), described. The image
 * files must also be absolute: a relative one would be resolved against the remote working
 * directory by imgimport and by the undo's `rm -f`.
 */
export function pathsOutside(manifest: ImgexportManifest, installRoot: string): string[] {
  const outside = manifest.paths
    .filter(({ path }) => path.split('/').includes('..') || !isUnder(path.replace(/\/+$/, ''), installRoot))
    .map(({ field, path }) => `${field}=${path}`);
  const relative = manifest.imageFiles.filter((f) => !f.trim().startsWith('/')).map((f) => `${f} (not an absolute path)`);
  return [...outside, ...relative];
}

function collectPaths(node: unknown, at: string, into: { field: string; path: string }[]): void {
  if (typeof node === 'string') {
    // Values may list several paths, comma-separated (imgport.pm splits on ",").
    for (const v of node.split(',')) if (v.trim().startsWith('/') || v.includes('..')) into.push({ field: at, path: v.trim() });
  } else if (Array.isArray(node)) {
    node.forEach((n, i) => collectPaths(n, `${at}[${i}]`, into));
  } else if (isRecord(node)) {
    for (const [k, v] of Object.entries(node)) collectPaths(v, at === 'xcatimage' ? k : `${at}.${k}`, into);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
