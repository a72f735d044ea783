/**
 * Which cached files to evict so that a download fits under the quota. Pure: the cache index
 * calls it inside a transaction with what it read, and carries out the answer.
 */

export interface PlannedEntry {
  name: string;
  /** Bytes the entry takes or has reserved (a download in progress reserves its full size). */
  size: number;
  state: 'downloading' | 'ready' | 'evicting';
  /** Order of last use: larger is more recent. */
  useSeq: number;
  /** Whether a running workflow holds it. Held entries are never evicted. */
  held: boolean;
}

export interface EvictionRequest {
  entries: readonly PlannedEntry[];
  quota: number;
  /** The entry that wants room, and the total size it needs (its current reservation is counted in `entries`). */
  name: string;
  bytes: number;
}

export type EvictionPlan =
  | { fits: true; evict: string[]; freed: number }
  /** `need`: bytes that must be freed; `canFree`: what evicting every unheld entry would free. */
  | { fits: false; need: number; canFree: number };

/**
 * Evict unheld entries, least recently used first, until `bytes` for `name` fit. Downloads whose
 * run has ended (unheld `downloading` entries: a partial file nobody resumes) go first of all,
 * then ready files by last use. A file being evicted still takes its room until it is gone.
 */
export function planEviction({ entries, quota, name, bytes }: EvictionRequest): EvictionPlan {
  const others = entries.filter((e) => e.name !== name);
  const used = others.reduce((n, e) => n + e.size, 0);
  const need = used + bytes - quota;
  if (need <= 0) return { fits: true, evict: [], freed: 0 };
  const candidates = others
    .filter((e) => !e.held && e.state !== 'evicting')
    .sort((a, b) => rank(a) - rank(b) || a.useSeq - b.useSeq);
  const evict: string[] = [];
  let freed = 0;
  for (const e of candidates) {
    if (freed >= need) break;
    evict.push(e.name);
    freed += e.size;
  }
  if (freed < need) return { fits: false, need, canFree: freed };
  return { fits: true, evict, freed };
}

const rank = (e: PlannedEntry): number => (e.state === 'downloading' ? 0 : 1);
