/**
 * One webtorrent client per worker process, shared by every download and every site worker in it,
 * so a finished torrent keeps seeding after its activity returned. Started on the first torrent
 * (a worker that never sees one opens no port); destroyed when the last site worker releases it.
 * It also keeps the seeding policy: finished torrents are dropped once seeded long or far enough.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { BittorrentConfig } from '../../../config/config-schema.js';
import { seedingStopReason } from './seeding-policy.js';
import { TorrentClient, type Torrent, type TorrentClientOptions } from './webtorrent-client.js';

/** How often seeding torrents are checked against the policy. */
const SEEDING_CHECK_MS = 2000;

interface Seeding {
  torrent: Torrent;
  /** The torrent's own directory, removed when seeding ends (the cache holds its own link). */
  dir: string;
  finishedAt: number;
  length: number;
  policy: BittorrentConfig['seeding'];
}

export class SharedTorrentClient {
  private starting: Promise<TorrentClient> | undefined;
  private readonly seeding = new Map<string, Seeding>();
  /** Downloads running per info hash. */
  private readonly users = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

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

  /** Keep a finished torrent seeding under `policy`; it is closed and `dir` removed afterwards. */
  seedAfterDownload(torrent: Torrent, dir: string, policy: BittorrentConfig['seeding']): void {
    if (this.seeding.has(torrent.infoHash)) return;
    this.seeding.set(torrent.infoHash, { torrent, dir, finishedAt: Date.now(), length: torrent.stats().length, policy });
    this.timer ??= setInterval(() => void this.checkSeeding(), SEEDING_CHECK_MS);
    void this.checkSeeding();
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
      const reason = stats ? seedingStopReason({ finishedAt: s.finishedAt, uploaded: stats.uploaded, length: s.length }, s.policy, now) : 'closed';
      if (!reason) continue;
      this.seeding.delete(infoHash);
      this.logger.info({ infoHash, uploaded: stats?.uploaded, reason }, 'bittorrent seeding stopped');
      await s.torrent.close({ deleteData: false });
      await rm(s.dir, { recursive: true, force: true });
    }
    if (this.seeding.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Stop seeding, close every torrent (keeping partial data for a later resume) and the sockets. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const seeding = [...this.seeding.values()];
    this.seeding.clear();
    const client = await this.starting?.catch(() => undefined);
    await client?.destroy();
    for (const s of seeding) await rm(s.dir, { recursive: true, force: true });
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
