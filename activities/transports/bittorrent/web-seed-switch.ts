/** Applies `webSeedsWanted` (web-seed-fallback.ts) to one downloading torrent, fed once a second. */
import type { Logger } from 'pino';
import type { BittorrentConfig } from '../../../config/config-schema.js';
import { trimSamples, webSeedsWanted, type WebSeedSample } from './web-seed-fallback.js';
import type { Torrent } from './webtorrent-torrent.js';

/** Turns a torrent's web seeds on and off as `webSeedsWanted` says, from samples taken every tick. */
export class WebSeedSwitch {
  private readonly samples: WebSeedSample[] = [];
  private readonly startedAt = performance.now();

  constructor(
    private readonly torrent: Torrent,
    private readonly policy: BittorrentConfig['webSeeds'],
    private readonly canFindPeers: boolean,
    private readonly log: Logger,
  ) {}

  tick(peerBytes: number): void {
    if (!this.torrent.hasWebSeeds || this.torrent.closed) return;
    this.samples.push({ at: performance.now(), peerBytes });
    trimSamples(this.samples, this.policy);
    const on = webSeedsWanted({ policy: this.policy, startedAt: this.startedAt, canFindPeers: this.canFindPeers, samples: this.samples });
    if (on === this.torrent.webSeedsOn) return;
    this.torrent.useWebSeeds(on);
    this.log.info({ peerBytes }, on ? 'web seeds on: peers deliver too little' : 'web seeds off: peers deliver enough');
  }
}
