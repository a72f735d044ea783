/**
 * What to do so that the cache index and the files on disk agree again, after a crash at any
 * moment. Pure: `CacheSpace.reconcile` lists the disk, calls this, and carries it out.
 *
 * The invariants it restores: a `ready` entry has its verified file, of its size; a
 * `downloading` entry has its partial file (or had none yet); nothing is `evicting`; every file is
 * some entry's. A file under its final name was renamed there only after its hash matched, so a
 * `downloading` entry whose final file exists crashed between rename and index update: it is ready.
 */
import type { EntryState } from './cache-index.js';

export interface DiskListing {
  /** Files directly in the cache dir, by name, with their size. Includes companions such as `<name>.raw`. */
  files: ReadonlyMap<string, number>;
  /** Files in `.partial/`, by name, with their size. */
  partials: ReadonlyMap<string, number>;
}

export interface ReconcileEntry {
  name: string;
  state: EntryState;
  size: number;
  /** What the index counts for its companion files (`<name>.raw`). */
  companionBytes: number;
}

export interface ReconcilePlan {
  /** Paths relative to the cache dir to remove (`x`, `x.raw`, `.partial/x`). */
  removeFiles: string[];
  /** Entries to drop from the index. */
  dropEntries: string[];
  /** `downloading` entries whose verified file is in place. */
  markReady: { name: string; size: number }[];
  /** Kept entries whose companion files on disk measure other than the index counts. */
  companionBytes: { name: string; bytes: number }[];
}

/** The entry a cache file belongs to: `<name>` or a companion `<name>.<suffix>`. Names have no dot. */
export function entryNameOf(file: string): string {
  const dot = file.indexOf('.');
  return dot < 0 ? file : file.slice(0, dot);
}

/** Whether `file` looks like ImageProxy put it there (a content name, maybe with a suffix). */
export function isCacheFileName(file: string): boolean {
  return /^(?:(?:sha256|sha512)-)?[0-9a-f]{40,128}(?:\.[A-Za-z0-9._-]+)?$/.test(file);
}

export function planReconcile(entries: readonly ReconcileEntry[], disk: DiskListing): ReconcilePlan {
  const plan: ReconcilePlan = { removeFiles: [], dropEntries: [], markReady: [], companionBytes: [] };
  const keep = new Set<string>(); // entries whose companions stay
  const keepPartial = new Set<string>();
  for (const e of entries) {
    const size = disk.files.get(e.name);
    if (e.state === 'evicting') {
      plan.dropEntries.push(e.name);
    } else if (e.state === 'ready') {
      if (size === e.size) keep.add(e.name);
      else plan.dropEntries.push(e.name); // gone, or changed behind our back: never served
    } else if (size !== undefined) {
      plan.markReady.push({ name: e.name, size });
      keep.add(e.name);
    } else if (disk.partials.has(e.name) || e.size === 0) {
      // A resumable download, or a reservation made before its first byte.
      keepPartial.add(e.name);
    } else {
      plan.dropEntries.push(e.name); // its partial file is gone: the reservation is void
    }
  }
  const companions = new Map<string, number>();
  for (const [file, size] of disk.files) {
    if (!isCacheFileName(file)) continue;
    const name = entryNameOf(file);
    if (!keep.has(name)) plan.removeFiles.push(file);
    else if (file !== name) companions.set(name, (companions.get(name) ?? 0) + size);
  }
  // A companion written but not yet counted (a crash in between), or removed behind our back.
  for (const e of entries) {
    const bytes = companions.get(e.name) ?? 0;
    if (keep.has(e.name) && bytes !== e.companionBytes) plan.companionBytes.push({ name: e.name, bytes });
  }
  for (const file of disk.partials.keys()) {
    if (isCacheFileName(file) && !keepPartial.has(entryNameOf(file))) plan.removeFiles.push(`.partial/${file}`);
  }
  return plan;
}
