/**
 * A site backend makes verified image parts into images a site can boot, with the site's own
 * credentials, which never leave the worker. Local directory, Eucalyptus and xCAT implement it.
 */
import type { CachedPart, ImageIds } from '../../common/image-types.js';
import type { NodeOutcome } from '../../common/provision-contract.js';

export interface RegisterRequest {
  guid: string;
  /** URL of the metadata file, for the site's own records (tags, descriptions). */
  metadataUrl: string;
  parts: CachedPart[];
  /**
   * Path of the raw filesystem image of a FILESYSTEM or ZFILESYSTEM part: the part itself, or for a
   * ZFILESYSTEM its decompressed content (the tar member `filesystem` if it is a tar), kept in the
   * cache. Backends that want the archive as downloaded (xCAT netboot) use `part.path` instead.
   */
  rawImageOf(part: CachedPart): Promise<string>;
  /** Called now and then during long work, so the activity can heartbeat. */
  onProgress?: (detail: string) => void;
  signal?: AbortSignal;
  /**
   * Whether no attempt follows this failure (non-retryable, retryFor spent, the run cancelled).
   * A backend undoes what it made only on a final failure: a retry resumes from what is there.
   * Absent: only a non-retryable failure is final.
   */
  isFinal?: (failure: unknown) => boolean;
}

/** An image ImageProxy registered at a site, as the clean-up sees it. */
export interface RegisteredImage {
  guid: string;
  ids: ImageIds;
  registeredAt: Date;
  /** When a request last asked for it (registration counts as one). */
  lastRequestedAt: Date;
}

export interface SiteBackend {
  /** Backend type, as in the config (`local`, `eucalyptus`, `xcat`). */
  readonly type: string;
  /** Site name, as in the config. */
  readonly site: string;
  /**
   * The ids of the image the site holds for `guid` now, complete and usable; undefined when it holds
   * none (or only part of one). The site is the truth: this is asked on every request.
   */
  lookup(guid: string): Promise<ImageIds | undefined>;
  /**
   * Register the parts and answer their ids. Idempotent: registering what the site already has
   * answers the existing ids. On a final failure (`isFinal`) nothing this attempt made is left at
   * the site; a failure that is retried may leave what the retry will reuse.
   */
  register(request: RegisterRequest): Promise<ImageIds>;
  /** Remove the image of `guid` from the site; nothing to remove is not an error. */
  deregister(guid: string): Promise<void>;
  /** Release connections. */
  close?(): Promise<void>;

  // Optional capabilities of the clean-up (`collectGarbage`). A site without them is never cleaned.
  /** Record that `guid` was asked for now (on every request that finds it at the site). */
  markRequested?(guid: string, at: Date): Promise<void>;
  /** Every image this site holds that ImageProxy registered (never images registered by others). */
  listImages?(): Promise<RegisteredImage[]>;
  /** Whether anything still uses the image (a running instance, a node provisioned with it). */
  inUse?(guid: string): Promise<boolean>;
  /** Boot bare-metal `nodes` from the image of `guid` (xCAT: `nodeset`); one outcome per node. */
  provision?(guid: string, nodes: readonly string[]): Promise<Record<string, NodeOutcome>>;
}
