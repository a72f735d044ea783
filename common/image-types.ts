/**
 * Shared, workflow-safe types: what an image is made of and what a site answers.
 * No Node built-ins here: this module is bundled into workflow code.
 */

/** The part types of the image metadata format, spelled as in the file. */
export const PART_TYPES = ['FILESYSTEM', 'ZFILESYSTEM', 'QCOW2', 'KERNEL', 'RAMDISK'] as const;
export type PartType = (typeof PART_TYPES)[number];

/** Keys of the answer: a ZFILESYSTEM part is answered as FILESYSTEM. */
export const ID_KEYS = ['FILESYSTEM', 'QCOW2', 'KERNEL', 'RAMDISK'] as const;
export type IdKey = (typeof ID_KEYS)[number];

/** The ids a site gives the parts of one image, e.g. `{FILESYSTEM: 'emi-…', KERNEL: 'eki-…'}`. */
export type ImageIds = Partial<Record<IdKey, string>>;

/** A content hash as written in metadata: algorithm and lowercase hex digest. */
export interface ContentHash {
  algorithm: 'sha1' | 'sha256' | 'sha512';
  hex: string;
}

/** One `<image>` entry of a metadata file, validated. */
export interface ImagePart {
  type: PartType;
  hash: ContentHash;
  url: string;
}

/**
 * Where a host took a part's bytes from: its own cache (downloaded earlier), the origin (the URL in
 * the metadata, web seed or BitTorrent swarm included), or the other hosts of a distribution.
 */
export type PartSource = 'cache' | 'origin' | 'peers';

/** How the CLI and the Temporal UI name a source: `from the origin`, `from peers`, `from the host cache`. */
export const PART_SOURCE_WORDS: Record<PartSource, string> = { origin: 'the origin', peers: 'peers', cache: 'the host cache' };

/** A part after download: verified bytes in the host's content-addressed cache. */
export interface CachedPart {
  type: PartType;
  hash: ContentHash;
  url: string;
  /** Absolute path of the verified file in the cache of the host that downloaded it. */
  path: string;
  size: number;
  /** Where this download took the bytes from (absent from workers of older versions). */
  from?: PartSource;
}

/** Map a part type to the key it is answered under. */
export function idKeyOf(type: PartType): IdKey {
  return type === 'ZFILESYSTEM' ? 'FILESYSTEM' : type;
}
