/**
 * The image metadata file: `<images><image><type/><signature/><url/></image>…</images>`.
 * A pure parser. It refuses any DTD (so no entity can be defined or resolved: no XXE, no
 * billion laughs) and rejects a malformed entry with a message naming the entry and the problem,
 * where the legacy service skipped it silently.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PART_TYPES, type ContentHash, type ImagePart, type PartType } from '../../common/image-types.js';

export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}

const HASH_LENGTHS: Record<ContentHash['algorithm'], number> = { sha1: 40, sha256: 64, sha512: 128 };

/**
 * Parse a signature: bare 40-hex SHA-1 (the legacy form), or `sha256:`/`sha512:`/`sha1:` prefixed hex.
 * Returns undefined when it is none of these.
 */
export function parseSignature(text: string): ContentHash | undefined {
  const m = /^(?:(sha1|sha256|sha512):)?([0-9a-fA-F]+)$/.exec(text);
  if (!m) return undefined;
  const algorithm = (m[1] ?? 'sha1') as ContentHash['algorithm'];
  const hex = m[2]!.toLowerCase();
  return hex.length === HASH_LENGTHS[algorithm] ? { algorithm, hex } : undefined;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  isArray: () => true,
});

type Node = Record<string, unknown>;

/** Parse and validate a metadata file. The result lists each part once; FILESYSTEM beats ZFILESYSTEM. */
export function parseImageMetadata(xml: string): ImagePart[] {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw new MetadataError('metadata must not contain a DOCTYPE or entity declarations');
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new MetadataError(`metadata is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  }
  const entries = collectImages(parser.parse(xml) as Node);
  if (entries.length === 0) throw new MetadataError('metadata lists no <image> element');

  const parts: ImagePart[] = [];
  entries.forEach((entry, i) => {
    const where = `<image> #${i + 1}`;
    const type = textOf(entry, 'type', where);
    if (!(PART_TYPES as readonly string[]).includes(type)) {
      throw new MetadataError(`${where}: unknown type ${JSON.stringify(type)} (expected one of ${PART_TYPES.join(', ')})`);
    }
    const signature = textOf(entry, 'signature', where);
    const hash = parseSignature(signature);
    if (!hash) {
      throw new MetadataError(
        `${where} (${type}): signature ${JSON.stringify(signature.slice(0, 140))} is not 40-hex SHA-1 nor sha256:/sha512: hex`,
      );
    }
    const url = textOf(entry, 'url', where);
    if (!URL.canParse(url)) throw new MetadataError(`${where} (${type}): url ${JSON.stringify(url.slice(0, 200))} is not an absolute URL`);
    if (parts.some((p) => p.type === type)) throw new MetadataError(`${where}: a second ${type} entry`);
    parts.push({ type: type as PartType, hash, url });
  });

  const has = (t: PartType): boolean => parts.some((p) => p.type === t);
  if (!has('FILESYSTEM') && !has('ZFILESYSTEM') && !has('QCOW2')) {
    throw new MetadataError('metadata has no FILESYSTEM, ZFILESYSTEM or QCOW2 entry: there is no image to register');
  }
  return has('FILESYSTEM') ? parts.filter((p) => p.type !== 'ZFILESYSTEM') : parts;
}

/** Every `<image>` element, wherever it stands (not inside another `<image>`), in document order. */
function collectImages(node: unknown, out: Node[] = []): Node[] {
  if (Array.isArray(node)) {
    for (const n of node) collectImages(n, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Node)) {
      if (key === 'image') {
        for (const v of value as unknown[]) out.push(v !== null && typeof v === 'object' ? (v as Node) : {});
      } else if (key !== '#text') {
        collectImages(value, out);
      }
    }
  }
  return out;
}

/** The trimmed text of the first `<name>` child; an error naming the entry if missing or empty. */
function textOf(entry: Node, name: string, where: string): string {
  const first = (entry[name] as unknown[] | undefined)?.[0];
  if (first === undefined) throw new MetadataError(`${where}: missing <${name}>`);
  if (first !== null && typeof first === 'object' && Object.keys(first).some((k) => k !== '#text')) {
    throw new MetadataError(`${where}: <${name}> must hold plain text, not elements`);
  }
  const text = typeof first === 'string' ? first : (first as Node | null)?.['#text'];
  const value = Array.isArray(text) ? text.join('') : text;
  if (typeof value !== 'string' || value.trim() === '') throw new MetadataError(`${where}: <${name}> is empty`);
  return value.trim();
}
