/**
 * One webtorrent client per worker process, shared by every download and every site worker in it,
 * so a finished torrent keeps seeding after its activity returned. Started on the first torrent
 * (a worker that never sees one opens no port); destroyed when the last site worker releases it.
 * It also keeps the seeding policy: finished torrents are dropped once seeded long or far enough.
 * A torrent still within its policy when the worker stops keeps its directory and a record
 * (`seeding-record.ts`); the next worker on that data directory seeds it again (`resumeSeeding`).
 * The worker may add checks (`holdSeedingWhile`) that keep a torrent seeding past its policy while
 * a distribution still needs it (see docs/transports.md).
 */
import { rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { BittorrentConfig } from '../../../config/config-schema.js';
import { anyNeeds, seedingStopReason, type SeedingNeededCheck } from './seeding-policy.js';
import { listSeedingRecords, removeSeedingRecord, saveSeedingRecord, type SeedingRecord } from './seeding-record.js';
import { parseMetainfo, TorrentClient, type TorrentClientOptions } from './webtorrent-client.js';
import type { Torrent } from './webtorrent-torrent.js';

/** How often seeding torrents are checked against the policy. */
const SEEDING_CHECK_MS = 2000;

interface Seeding {
  torrent: Torrent;
  /** The torrent's own directory `<base>/<info hash>`, removed when seeding ends (the cache holds its own link). */
  dir: string;
  finishedAt: number;
  length: number;
  policy: BittorrentConfig['seeding'];
  /** Uploaded by earlier runs of the worker (from the record). */
  uploadedBefore: number;
  /** The .torrent, for the record. */
  metainfo: Uint8Array | undefined;
  /** The last write of its record; the next write or the removal waits for it. */
  saved?: Promise<void>;
}

export class SharedTorrentClient {
  private starting: Promise<TorrentClient> | undefined;
  private readonly seeding = new Map<string, Seeding>();
  /** Downloads running per info hash. */
  private readonly users = new Map<string, number>();
  private readonly resuming = new Map<string, Promise<string[]>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Checks that keep a torrent seeding past its policy (`holdSeedingWhile`); none: the policy alone. */
  private readonly neededChecks = new Set<SeedingNeededCheck>();
  /** Torrents kept past their policy by a check, so the log says so once, and once when let go. */
  private readonly held = new Set<string>();

  constructor(
    private readonly options: TorrentClientOptions,
    private readonly logger: Logger,
  ) {}

  /** The client, started on first use. */
  client(): Promise<TorrentClient> {
    if (this.closed) return Promise.reject(new Error('the BitTorrent client of this worker is shut down'));
    this.starting ??= TorrentClient.start(this.options, (err) => this.logger.warn({ err: err.message }, 'bittorrent client error')).then(
      (client) => {
        this.logger.info({ port: client.port, address: this.options.listenAddress ?? 'all' }, 'bittorrent client listening');
        return client;
      },
    );
    return this.starting;
  }

  /**
   * Keep every seeding torrent for which `isStillNeeded(infoHash)` answers true, whatever its
   * policy says; once no check needs it, the policy applies again (a torrent past its limit stops at
   * the next check, within a few seconds). Several checks (one per site worker) may be added; the
   * returned function removes this one.
   */
  holdSeedingWhile(isStillNeeded: SeedingNeededCheck): () => void {
    this.neededChecks.add(isStillNeeded);
    return () => {
      this.neededChecks.delete(isStillNeeded);
    };
  }

  /** Whether a distribution still needs `infoHash` served from here. */
  private stillNeeded(infoHash: string): boolean {
    return anyNeeds(this.neededChecks, infoHash);
  }

  /** Keep a finished torrent seeding under `policy`; it is closed and `dir` removed afterwards. */
  seedAfterDownload(torrent: Torrent, dir: string, policy: BittorrentConfig['seeding']): void {
    if (this.seeding.has(torrent.infoHash)) return;
    const s: Seeding = { torrent, dir, finishedAt: Date.now(), length: torrent.stats().length, policy, uploadedBefore: 0, metainfo: torrent.metainfo() };
    s.saved = this.saveRecord(s);
    this.startSeeding(s);
  }

  /**
   * Seed again the torrents under `baseDir` that an earlier worker kept (see `close`), each after
   * webtorrent has re-verified its data; drop those whose policy has run out or whose data is
   * gone or incomplete. Answers the info hashes seeding again. Opens the client only when there
   * is something to seed.
   */
  resumeSeeding(baseDir: string, policy: BittorrentConfig['seeding']): Promise<string[]> {
    // The site workers of one process share the client and often the data directory: once each.
    let resuming = this.resuming.get(baseDir);
    if (!resuming) {
      resuming = this.resumeSeedingOnce(baseDir, policy);
      this.resuming.set(baseDir, resuming);
    }
    return resuming;
  }

  private async resumeSeedingOnce(baseDir: string, policy: BittorrentConfig['seeding']): Promise<string[]> {
    const { records, unreadable } = await listSeedingRecords(baseDir);
    for (const infoHash of unreadable) await removeSeedingRecord(baseDir, infoHash);
    const resumed: string[] = [];
    for (const record of records) {
      const dir = join(baseDir, record.infoHash);
      const drop = async (why: string): Promise<void> => {
        this.logger.info({ infoHash: record.infoHash, reason: why }, 'bittorrent seeding not resumed');
        await rm(dir, { recursive: true, force: true });
        await removeSeedingRecord(baseDir, record.infoHash);
      };
      if (this.seeding.has(record.infoHash) || this.users.has(record.infoHash)) continue; // this process has it already
      const expired = seedingStopReason(
        { finishedAt: record.finishedAt, uploaded: record.uploaded, length: record.length },
        policy,
        Date.now(),
        this.stillNeeded(record.infoHash),
      );
      if (expired) {
        await drop(expired);
        continue;
      }
      if (!(await stat(dir).then((st) => st.isDirectory(), () => false))) {
        await drop('its data directory is gone');
        continue;
      }
      const metainfo = Buffer.from(record.metainfo, 'base64');
      const client = await this.client();
      if (client.find(record.infoHash)) continue; // a download of it started meanwhile
      const torrent = client.add(await parseMetainfo(metainfo), dir);
      await torrent.whenReady(); // every piece on disk re-verified against the metainfo
      const stats = torrent.stats();
      if (stats.piecesVerified < stats.pieceCount) {
        await torrent.close({ deleteData: false });
        await drop(`only ${stats.piecesVerified} of ${stats.pieceCount} pieces on disk are intact`);
        continue;
      }
      this.startSeeding({ torrent, dir, finishedAt: record.finishedAt, length: record.length, policy, uploadedBefore: record.uploaded, metainfo });
      this.logger.info({ infoHash: record.infoHash, pieces: stats.pieceCount }, 'bittorrent seeding resumed');
      resumed.push(record.infoHash);
    }
    return resumed;
  }

  private startSeeding(s: Seeding): void {
    this.seeding.set(s.torrent.infoHash, s);
    this.timer ??= setInterval(() => void this.checkSeeding(), SEEDING_CHECK_MS);
    void this.checkSeeding();
  }

  /** Record `s` beside its directory, with what it uploaded so far; a record is a hint, never fatal. */
  private async saveRecord(s: Seeding): Promise<void> {
    await s.saved;
    if (!s.metainfo) return;
    const uploaded = s.uploadedBefore + (s.torrent.closed ? 0 : s.torrent.stats().uploaded);
    const record: SeedingRecord = {
      infoHash: s.torrent.infoHash,
      finishedAt: s.finishedAt,
      uploaded,
      length: s.length,
      metainfo: Buffer.from(s.metainfo).toString('base64'),
    };
    await saveSeedingRecord(dirname(s.dir), record).catch((err: unknown) =>
      this.logger.warn({ infoHash: record.infoHash, err: (err as Error).message }, 'could not record a seeding torrent'),
    );
  }

  /**
   * Count a download of `infoHash` as running; the returned function ends it and says whether it
   * was the last one (only the last may stop the torrent).
   */
  use(infoHash: string): () => boolean {
    this.users.set(infoHash, (this.users.get(infoHash) ?? 0) + 1);
    let done = false;
    return () => {
      if (!done) {
        done = true;
        const left = (this.users.get(infoHash) ?? 1) - 1;
        if (left > 0) this.users.set(infoHash, left);
        else this.users.delete(infoHash);
      }
      return !this.users.has(infoHash);
    };
  }

  /** Whether a torrent is being kept for seeding (a new download of it may reuse it). */
  isSeeding(infoHash: string): boolean {
    return this.seeding.has(infoHash);
  }

  private async checkSeeding(): Promise<void> {
    const now = Date.now();
    for (const [infoHash, s] of this.seeding) {
      const stats = s.torrent.closed ? undefined : s.torrent.stats();
      const uploaded = s.uploadedBefore + (stats?.uploaded ?? 0);
      const needed = this.stillNeeded(infoHash);
      const reason = stats ? seedingStopReason({ finishedAt: s.finishedAt, uploaded, length: s.length }, s.policy, now, needed) : 'closed';
      this.noteHold(infoHash, needed && seedingStopReason({ finishedAt: s.finishedAt, uploaded, length: s.length }, s.policy, now) !== undefined, uploaded);
      if (!reason) continue;
      this.seeding.delete(infoHash);
      this.held.delete(infoHash);
      this.logger.info({ infoHash, uploaded, reason }, 'bittorrent seeding stopped');
      await s.torrent.close({ deleteData: false });
      await rm(s.dir, { recursive: true, force: true });
      await s.saved; // a record still being written must not outlive the torrent
      await removeSeedingRecord(dirname(s.dir), infoHash);
    }
    if (this.seeding.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Log when a distribution starts and stops keeping a torrent that its policy would have stopped. */
  private noteHold(infoHash: string, heldPastPolicy: boolean, uploaded: number): void {
    if (heldPastPolicy === this.held.has(infoHash)) return;
    if (heldPastPolicy) this.held.add(infoHash);
    else this.held.delete(infoHash);
    this.logger.info({ infoHash, uploaded }, heldPastPolicy ? 'bittorrent seeding kept past its policy: a distribution still needs it' : 'bittorrent seeding no longer held by a distribution');
  }

  /**
   * Close every torrent (keeping partial data for a later resume) and the sockets. Torrents still
   * seeding keep their data and an up-to-date record, so the next worker seeds them again.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const seeding = [...this.seeding.values()];
    this.seeding.clear();
    for (const s of seeding) {
      if (s.metainfo) await (s.saved = this.saveRecord(s));
      else await rm(s.dir, { recursive: true, force: true }); // nothing to re-add it from
    }
    const client = await this.starting?.catch(() => undefined);
    await client?.destroy();
  }
}

const shared = new Map<string, { client: SharedTorrentClient; refs: number }>();

/**
 * The process's client for these options (site workers of one config share it). Call `release()`
 * once when the worker stops; the last release shuts the client down.
 */
export function acquireSharedTorrentClient(
  options: TorrentClientOptions,
  logger: Logger,
): { client: SharedTorrentClient; release: () => Promise<void> } {
  const key = JSON.stringify(options);
  let entry = shared.get(key);
  if (!entry) {
    entry = { client: new SharedTorrentClient(options, logger), refs: 0 };
    shared.set(key, entry);
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    client: held.client,
    async release() {
      if (released) return;
      released = true;
      if (--held.refs > 0) return;
      shared.delete(key);
      await held.client.close();
    },
  };
}
