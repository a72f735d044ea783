/**
 * What a worker keeps on disk about a torrent it seeds, so a restarted worker seeds it again:
 * `<bittorrent dir>/<info hash>.seeding.json` beside the torrent's directory, holding the
 * metainfo (the .torrent as webtorrent knows it, also for a magnet link), when the download
 * finished and how much was uploaded before. The seeding policy then counts from the first finish.
 */
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SeedingRecord {
  infoHash: string;
  /** ms since the epoch. */
  finishedAt: number;
  /** Bytes uploaded by earlier runs of the worker. */
  uploaded: number;
  length: number;
  /** The .torrent file, base64. */
  metainfo: string;
}

const SUFFIX = '.seeding.json';

export function seedingRecordPath(baseDir: string, infoHash: string): string {
  return join(baseDir, `${infoHash}${SUFFIX}`);
}

/** Parse a record; undefined when it is not one (a hand-edited or truncated file is dropped, not fatal). */
export function parseSeedingRecord(text: string): SeedingRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<SeedingRecord>;
    const ok =
      typeof r.infoHash === 'string' &&
      /^[0-9a-f]{40}$/.test(r.infoHash) &&
      typeof r.finishedAt === 'number' &&
      typeof r.uploaded === 'number' &&
      typeof r.length === 'number' &&
      typeof r.metainfo === 'string';
    return ok ? (r as SeedingRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Write `record` atomically (a temp file renamed), so a crash leaves the old record or the new one. */
export async function saveSeedingRecord(baseDir: string, record: SeedingRecord): Promise<void> {
  const path = seedingRecordPath(baseDir, record.infoHash);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(record));
  await rename(tmp, path);
}

export async function removeSeedingRecord(baseDir: string, infoHash: string): Promise<void> {
  await rm(seedingRecordPath(baseDir, infoHash), { force: true });
}

/** Every record under `baseDir`, with the info hashes of unreadable ones (to remove). */
export async function listSeedingRecords(baseDir: string): Promise<{ records: SeedingRecord[]; unreadable: string[] }> {
  const names = await readdir(baseDir).catch(() => [] as string[]);
  // A record half-written when a worker died: the complete one (if any) is under the real name.
  for (const tmp of names.filter((n) => n.includes(`${SUFFIX}.`) && n.endsWith('.tmp'))) await rm(join(baseDir, tmp), { force: true });
  const records: SeedingRecord[] = [];
  const unreadable: string[] = [];
  for (const name of names.filter((n) => n.endsWith(SUFFIX))) {
    const record = parseSeedingRecord(await readFile(join(baseDir, name), 'utf8').catch(() => ''));
    if (record && `${record.infoHash}${SUFFIX}` === name) records.push(record);
    else unreadable.push(name.slice(0, -SUFFIX.length));
  }
  return { records, unreadable };
}
