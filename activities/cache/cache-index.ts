/**
 * The index of the host's download cache, in SQLite (WAL, so the workers of several sites and
 * processes sharing a data directory see one index). It records every cached file — name, size,
 * state, order of last use — and which workflow runs hold it. It decides; `CacheSpace` acts on disk.
 *
 * States: `downloading` (a reservation: the full size once known, the partial file in
 * `.partial/`), `ready` (the verified file under its name), `evicting` (chosen for eviction, file
 * being removed; counts against the quota until gone, finished on restart after a crash).
 * An entry's companion files (the `.raw` image unpacked from a compressed part) count against the
 * quota with it (`companion_bytes`) and go with it when it is evicted.
 *
 * Over 300 lines on purpose: each SQL statement sits beside the one transaction that uses it;
 * split, the schema and its statements would live apart.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { planEviction, type PlannedEntry } from './eviction-plan.js';

export type EntryState = PlannedEntry['state'];

export interface IndexEntry {
  name: string;
  size: number;
  /** Bytes of its companion files (reserved while one is being written). */
  companionBytes: number;
  state: EntryState;
  useSeq: number;
  lastUseMs: number;
}

/** A workflow run that holds cache entries until it ends. */
export interface Holder {
  workflowId: string;
  runId: string;
}

/** Thrown by `reserve` when evicting every unheld entry would not make room. */
export class InsufficientSpaceError extends Error {
  override readonly name = 'InsufficientSpaceError';
  constructor(
    readonly entry: string,
    readonly bytes: number,
    readonly need: number,
    readonly canFree: number,
    readonly quota: number,
  ) {
    super(`insufficient cache space for ${entry}`);
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  name        TEXT PRIMARY KEY,
  size        INTEGER NOT NULL,
  companion_bytes INTEGER NOT NULL DEFAULT 0,
  state       TEXT NOT NULL CHECK (state IN ('downloading', 'ready', 'evicting')),
  use_seq     INTEGER NOT NULL,
  last_use_ms INTEGER NOT NULL,
  -- Who is transferring the file now (one writer per partial file), and until when the lease holds.
  transfer_owner TEXT,
  transfer_until INTEGER
);
-- Holds outlive their entry: a part held by a running run stays held when its entry is dropped
-- and made again (a reconcile, another process's eviction racing the hold). Released by run.
CREATE TABLE IF NOT EXISTS holders (
  name        TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  run_id      TEXT NOT NULL,
  since_ms    INTEGER NOT NULL,
  PRIMARY KEY (name, run_id)
);
CREATE INDEX IF NOT EXISTS holders_by_run ON holders(run_id);
CREATE TABLE IF NOT EXISTS image_parts (
  guid TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (guid, name)
);
`;

interface EntryRow {
  name: string;
  size: number;
  companion_bytes: number;
  state: EntryState;
  use_seq: number;
  last_use_ms: number;
}

export class CacheIndex {
  private readonly db: Database.Database;

  /** Open (creating) the index at `file`. */
  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true }); // a fresh data directory
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Several processes may share the index; a writer waits for another rather than failing.
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    // An index made before companions were counted: add the column (every companion then counts 0
    // until the next reconcile measures it).
    const columns = this.db.prepare(`SELECT name FROM pragma_table_info('entries')`).pluck().all() as string[];
    if (!columns.includes('companion_bytes')) this.db.exec('ALTER TABLE entries ADD COLUMN companion_bytes INTEGER NOT NULL DEFAULT 0');
  }

  close(): void {
    this.db.close();
  }

  entries(): IndexEntry[] {
    return (this.db.prepare('SELECT * FROM entries ORDER BY use_seq').all() as EntryRow[]).map(toEntry);
  }

  entry(name: string): IndexEntry | undefined {
    const row = this.db.prepare('SELECT * FROM entries WHERE name = ?').get(name) as EntryRow | undefined;
    return row && toEntry(row);
  }

  /** Every run that holds something, for the check against Temporal. */
  holders(): Holder[] {
    return this.db.prepare('SELECT DISTINCT workflow_id AS workflowId, run_id AS runId FROM holders').all() as Holder[];
  }

  holdersOf(name: string): Holder[] {
    return this.db.prepare('SELECT workflow_id AS workflowId, run_id AS runId FROM holders WHERE name = ?').all(name) as Holder[];
  }

  /**
   * `holder` uses `name` (for image `guid`) until it releases it: the entry is created as an empty
   * `downloading` reservation when new, and its last use refreshed.
   */
  hold(name: string, holder: Holder, guid: string): void {
    this.immediate(() => {
      const now = Date.now();
      this.db
        .prepare(`INSERT INTO entries (name, size, state, use_seq, last_use_ms) VALUES (?, 0, 'downloading', ?, ?) ON CONFLICT(name) DO NOTHING`)
        .run(name, this.nextSeq(), now);
      this.db
        .prepare('INSERT INTO holders (name, workflow_id, run_id, since_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
        .run(name, holder.workflowId, holder.runId, now);
      this.db.prepare('INSERT INTO image_parts (guid, name) VALUES (?, ?) ON CONFLICT DO NOTHING').run(guid, name);
      this.touchInTx(name, now);
    });
  }

  /** Refresh the last use of `name` (a cache hit, a registration reusing the file). */
  touch(name: string): void {
    this.immediate(() => this.touchInTx(name, Date.now()));
  }

  /** Refresh the last use of every cached part of `guid` (the image was asked for again). */
  touchImage(guid: string): number {
    return this.immediate(() => {
      const names = this.db.prepare('SELECT name FROM image_parts WHERE guid = ?').pluck().all(guid) as string[];
      const now = Date.now();
      let touched = 0;
      for (const name of names) touched += this.touchInTx(name, now);
      return touched;
    });
  }

  /**
   * Make `bytes` of room for `name` (its total size), evicting least recently used unheld entries
   * as needed. The chosen entries turn `evicting` in the same transaction, so no other writer
   * plans with their bytes; the caller removes their files and then calls `forget`. Throws
   * `InsufficientSpaceError` when even evicting everything unheld would not make room.
   */
  reserve(name: string, bytes: number, quota: number): string[] {
    return this.immediate(() => {
      const companions = (this.db.prepare('SELECT companion_bytes FROM entries WHERE name = ?').pluck().get(name) as number | undefined) ?? 0;
      const victims = this.planAndMark(name, bytes + companions, quota);
      const now = Date.now();
      this.db
        .prepare(
          `INSERT INTO entries (name, size, state, use_seq, last_use_ms) VALUES (?, ?, 'downloading', ?, ?)
           ON CONFLICT(name) DO UPDATE SET size = excluded.size`,
        )
        .run(name, bytes, this.nextSeq(), now);
      return victims;
    });
  }

  /**
   * Make room for `bytes` of companion files of `name` (an entry held by the caller's run), the
   * same way as `reserve`; a smaller number than before gives room back. Answers the victims.
   */
  reserveCompanion(name: string, bytes: number, quota: number | undefined): string[] {
    return this.immediate(() => {
      const row = this.db.prepare('SELECT size, companion_bytes AS companions FROM entries WHERE name = ?').get(name) as
        | { size: number; companions: number }
        | undefined;
      if (!row) return []; // evicted meanwhile (it was not held): nothing to count
      const growing = bytes > row.companions;
      const victims = quota === undefined || !growing ? [] : this.planAndMark(name, row.size + bytes, quota);
      this.db.prepare('UPDATE entries SET companion_bytes = ? WHERE name = ?').run(bytes, name);
      return victims;
    });
  }

  /** Set what the companions of `name` measure on disk (reconcile). */
  setCompanionBytes(name: string, bytes: number): void {
    this.db.prepare('UPDATE entries SET companion_bytes = ? WHERE name = ?').run(bytes, name);
  }

  /** Plan room for `total` bytes of `name` and mark the victims `evicting`; inside a transaction. */
  private planAndMark(name: string, total: number, quota: number): string[] {
    const rows = this.db
      .prepare(
        `SELECT e.name, e.size + e.companion_bytes AS size, e.state, e.use_seq AS useSeq,
                EXISTS (SELECT 1 FROM holders h WHERE h.name = e.name) AS held
           FROM entries e`,
      )
      .all() as (Omit<PlannedEntry, 'held'> & { held: number })[];
    const plan = planEviction({ entries: rows.map((r) => ({ ...r, held: r.held === 1 })), quota, name, bytes: total });
    if (!plan.fits) throw new InsufficientSpaceError(name, total, plan.need, plan.canFree, quota);
    const mark = this.db.prepare(`UPDATE entries SET state = 'evicting' WHERE name = ?`);
    for (const victim of plan.evict) mark.run(victim);
    return plan.evict;
  }

  /** The verified file of `name` is in place. */
  markReady(name: string, size: number): void {
    this.immediate(() => {
      this.db
        .prepare(
          `INSERT INTO entries (name, size, state, use_seq, last_use_ms) VALUES (?, ?, 'ready', ?, ?)
           ON CONFLICT(name) DO UPDATE SET size = excluded.size, state = 'ready'`,
        )
        .run(name, size, this.nextSeq(), Date.now());
      this.touchInTx(name, Date.now());
    });
  }

  /** Drop `name` (its files are gone or going). Its holders stay until their runs release them. */
  forget(name: string): void {
    this.immediate(() => {
      this.db.prepare('DELETE FROM entries WHERE name = ?').run(name);
      this.db.prepare('DELETE FROM image_parts WHERE name = ?').run(name);
    });
  }

  /**
   * Become the one writer of `name`'s partial file for `leaseMs`: answers `claimed` (also when
   * `owner` had it or the last lease ran out), `ready` (the file is there: nothing to transfer) or
   * `busy` (another worker transfers it now).
   */
  claimTransfer(name: string, owner: string, leaseMs: number): 'claimed' | 'ready' | 'busy' {
    return this.immediate(() => {
      const now = Date.now();
      const row = this.db.prepare('SELECT state, transfer_owner AS o, transfer_until AS u FROM entries WHERE name = ?').get(name) as
        | { state: EntryState; o: string | null; u: number | null }
        | undefined;
      if (row?.state === 'ready') return 'ready';
      if (row && row.o !== null && row.o !== owner && (row.u ?? 0) > now) return 'busy';
      this.db
        .prepare(
          `INSERT INTO entries (name, size, state, use_seq, last_use_ms, transfer_owner, transfer_until) VALUES (?, 0, 'downloading', ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET transfer_owner = excluded.transfer_owner, transfer_until = excluded.transfer_until`,
        )
        .run(name, this.nextSeq(), now, owner, now + leaseMs);
      return 'claimed';
    });
  }

  /** Extend `owner`'s lease on `name`'s transfer. */
  renewTransfer(name: string, owner: string, leaseMs: number): void {
    this.db.prepare('UPDATE entries SET transfer_until = ? WHERE name = ? AND transfer_owner = ?').run(Date.now() + leaseMs, name, owner);
  }

  /** `owner` is done transferring `name` (finished or failed). */
  endTransfer(name: string, owner: string): void {
    this.db.prepare('UPDATE entries SET transfer_owner = NULL, transfer_until = NULL WHERE name = ? AND transfer_owner = ?').run(name, owner);
  }

  /** Owners of transfer leases, to drop those of processes that are gone. */
  transferOwners(): string[] {
    return this.db.prepare('SELECT DISTINCT transfer_owner FROM entries WHERE transfer_owner IS NOT NULL').pluck().all() as string[];
  }

  /** Drop every lease of `owner` (a process that is gone). */
  dropTransfers(owner: string): void {
    this.db.prepare('UPDATE entries SET transfer_owner = NULL, transfer_until = NULL WHERE transfer_owner = ?').run(owner);
  }

  /**
   * `downloading` entries that no run holds and nobody transfers now: left by runs that gave up
   * (out of retries, cancelled, refused) or crashed. Each is leased to `owner` in the same
   * transaction, so no download starts on it while its files are removed (`endDiscard`).
   */
  claimAbandoned(owner: string, leaseMs: number): string[] {
    return this.immediate(() => {
      const now = Date.now();
      const names = this.db
        .prepare(
          `SELECT name FROM entries e WHERE state = 'downloading'
             AND NOT EXISTS (SELECT 1 FROM holders h WHERE h.name = e.name)
             AND (transfer_owner IS NULL OR transfer_until < ?)`,
        )
        .pluck()
        .all(now) as string[];
      const lease = this.db.prepare('UPDATE entries SET transfer_owner = ?, transfer_until = ? WHERE name = ?');
      for (const name of names) lease.run(owner, now + leaseMs, name);
      return names;
    });
  }

  /** The files of an abandoned `name` are gone: drop its entry, unless a run took it meanwhile. */
  endDiscard(name: string, owner: string): void {
    this.immediate(() => {
      const held = this.db.prepare('SELECT 1 FROM holders WHERE name = ?').get(name) !== undefined;
      if (held) this.db.prepare('UPDATE entries SET size = 0, transfer_owner = NULL, transfer_until = NULL WHERE name = ? AND transfer_owner = ?').run(name, owner);
      else {
        this.db.prepare('DELETE FROM entries WHERE name = ? AND transfer_owner = ?').run(name, owner);
        this.db.prepare('DELETE FROM image_parts WHERE name = ? AND NOT EXISTS (SELECT 1 FROM entries WHERE entries.name = image_parts.name)').run(name);
      }
    });
  }

  /** Release everything `runId` holds; answers how many entries it held. */
  release(runId: string): number {
    return this.db.prepare('DELETE FROM holders WHERE run_id = ?').run(runId).changes;
  }

  private touchInTx(name: string, now: number): number {
    return this.db.prepare('UPDATE entries SET use_seq = ?, last_use_ms = ? WHERE name = ?').run(this.nextSeq(), now, name).changes;
  }

  /** Uses are ordered by a counter, not the clock: two uses in one millisecond still have an order. */
  private nextSeq(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(use_seq), 0) + 1 FROM entries').pluck().get() as number);
  }

  /** Run `fn` in a write transaction taken up front, so concurrent planners serialize. */
  private immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}

function toEntry(r: EntryRow): IndexEntry {
  return { name: r.name, size: r.size, companionBytes: r.companion_bytes, state: r.state, useSeq: r.use_seq, lastUseMs: r.last_use_ms };
}
