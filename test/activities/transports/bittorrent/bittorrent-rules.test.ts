/** The BitTorrent transport's rules: URL forms, file choice, allowed sources, seeding policy and records. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedSources } from '../../../../activities/transports/bittorrent/allowed-sources.js';
import { pickTorrentFile } from '../../../../activities/transports/bittorrent/pick-torrent-file.js';
import { wrapAroundRanges } from '../../../../activities/transports/bittorrent/piece-order.js';
import { anyNeeds, seedingStopReason } from '../../../../activities/transports/bittorrent/seeding-policy.js';
import { parseSeedingRecord, saveSeedingRecord } from '../../../../activities/transports/bittorrent/seeding-record.js';
import { SharedTorrentClient } from '../../../../activities/transports/bittorrent/shared-torrent-client.js';
import { isTorrentUrl, parseTorrentUrl } from '../../../../activities/transports/bittorrent/torrent-url.js';
import { trimSamples, webSeedsWanted, type WebSeedSample } from '../../../../activities/transports/bittorrent/web-seed-fallback.js';
import { createLogger } from '../../../../workers/logger.js';
import { newTestDir } from '../../../support/image-proxy-world.js';

const HASH = '0123456789abcdef0123456789abcdef01234567';

describe('torrent URL forms', () => {
  it('takes .torrent paths (before the query) and magnet links, nothing else', () => {
    expect(isTorrentUrl(new URL('http://h/a/image.torrent'))).toBe(true);
    expect(isTorrentUrl(new URL('https://h/a/IMAGE.TORRENT?sig=1'))).toBe(true);
    expect(isTorrentUrl(new URL(`magnet:?xt=urn:btih:${HASH}`))).toBe(true);
    expect(isTorrentUrl(new URL('http://h/a/image.img?x=.torrent'))).toBe(false);
    expect(isTorrentUrl(new URL('ftp://h/a/image.torrent'))).toBe(false);
  });

  it('splits off #file= and keeps the rest of the URL for the origin', () => {
    expect(parseTorrentUrl('http://h/a/b.torrent?k=v#file=dir%2Fdisk.img')).toEqual({
      kind: 'metainfo',
      metainfoUrl: 'http://h/a/b.torrent?k=v',
      file: 'dir/disk.img',
    });
    expect(parseTorrentUrl(`magnet:?xt=urn:btih:${HASH}&tr=http%3A%2F%2Ft%2Fannounce`)).toEqual({
      kind: 'magnet',
      magnet: `magnet:?xt=urn:btih:${HASH}&tr=http%3A%2F%2Ft%2Fannounce`,
    });
  });

  it('rejects a magnet link without a BitTorrent info hash, and any other fragment', () => {
    expect(() => parseTorrentUrl('magnet:?xt=urn:sha1:abc')).toThrow(/needs xt=urn:btih:/);
    expect(() => parseTorrentUrl('http://h/b.torrent#part=2')).toThrow(/may only be #file=/);
    expect(() => parseTorrentUrl('http://h/b.torrent#file=')).toThrow(/names no file/);
    expect(() => parseTorrentUrl('http://h/b.iso')).toThrow(/neither a magnet link nor/);
  });
});

describe('pickTorrentFile', () => {
  const multi = [
    { path: 'bundle/root.img', length: 10 },
    { path: 'bundle/sub/kernel', length: 2 },
  ];
  it('takes the only file of a single-file torrent', () => {
    expect(pickTorrentFile([{ path: 'disk.img', length: 5 }], 'disk.img', undefined)).toBe(0);
  });
  it('refuses a multi-file torrent that names no file, listing what is there', () => {
    expect(() => pickTorrentFile(multi, 'bundle', undefined)).toThrow(
      'torrent "bundle" holds 2 files (root.img, sub/kernel); name the one to fetch with #file=<path> at the end of the URL',
    );
  });
  it('finds the named file with or without the torrent name in front', () => {
    expect(pickTorrentFile(multi, 'bundle', 'sub/kernel')).toBe(1);
    expect(pickTorrentFile(multi, 'bundle', 'bundle/root.img')).toBe(0);
    expect(() => pickTorrentFile(multi, 'bundle', 'kernel')).toThrow('torrent "bundle" has no file kernel');
  });
});

describe('allowedSources', () => {
  it('keeps allowed trackers and web seeds, adds the extra trackers, says what it dropped', () => {
    const got = allowedSources(
      ['http://tracker.example.org/announce', 'udp://evil.example.com:80', 'wss://tracker.webtorrent.dev', 'not a url'],
      ['http://mirror.example.org/disk.img', 'http://other.example.net/disk.img'],
      { trackers: ['*.example.org'], extraTrackers: ['http://own.site/announce'], webSeeds: ['mirror.example.org'] },
    );
    expect(got.announce).toEqual(['http://tracker.example.org/announce', 'http://own.site/announce']);
    expect(got.urlList).toEqual(['http://mirror.example.org/disk.img']);
    expect(got.dropped).toEqual([
      'tracker udp://evil.example.com:80: host not allowed',
      'tracker wss://tracker.webtorrent.dev: wss: is not used here',
      'tracker not a url: not a URL',
      'web seed http://other.example.net/disk.img: host not allowed',
    ]);
  });
  it('allows every host when there are no rules', () => {
    expect(allowedSources(['udp://a:1'], ['https://b/x'], { trackers: undefined, extraTrackers: [], webSeeds: undefined })).toMatchObject({
      announce: ['udp://a:1'],
      urlList: ['https://b/x'],
      dropped: [],
    });
  });
});

describe('piece order (a start of each host\'s own, wrapping around)', () => {
  it('fetches from the start point to the end first, then from the first piece up to it', () => {
    expect(wrapAroundRanges(0, 99, 0)).toEqual([{ from: 0, to: 99, priority: 1 }]);
    expect(wrapAroundRanges(0, 99, 0.5)).toEqual([
      { from: 50, to: 99, priority: 1 },
      { from: 0, to: 49, priority: 0 },
    ]);
    expect(wrapAroundRanges(10, 19, 0.999)).toEqual([
      { from: 19, to: 19, priority: 1 },
      { from: 10, to: 18, priority: 0 },
    ]);
    expect(wrapAroundRanges(5, 5, 0.7)).toEqual([{ from: 5, to: 5, priority: 1 }]);
  });
  it('covers every piece exactly once, whatever the start', () => {
    for (const f of [0, 0.13, 0.5, 0.99]) {
      const pieces = wrapAroundRanges(3, 40, f).flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));
      expect([...pieces].sort((a, b) => a - b)).toEqual(Array.from({ length: 38 }, (_, i) => 3 + i));
    }
  });
  it('rejects a range that is not one', () => {
    expect(() => wrapAroundRanges(5, 4, 0)).toThrow('invalid piece range 5..4');
  });
});

describe('web seeds as a fallback for peers', () => {
  const policy = { fallbackAfterMs: 3000, peerFloorBytesPerSecond: 1000 };
  const wanted = (samples: WebSeedSample[], canFindPeers = true): boolean => webSeedsWanted({ policy, startedAt: 0, canFindPeers, samples });
  it('peers get a head start; without a way to find peers, or with fallback 0, web seeds are used at once', () => {
    expect(wanted([{ at: 0, peerBytes: 0 }])).toBe(false);
    expect(wanted([{ at: 2999, peerBytes: 0 }])).toBe(false);
    expect(wanted([{ at: 0, peerBytes: 0 }], false)).toBe(true);
    expect(webSeedsWanted({ policy: { ...policy, fallbackAfterMs: 0 }, startedAt: 0, canFindPeers: true, samples: [{ at: 0, peerBytes: 0 }] })).toBe(true);
  });
  it('on when peers delivered less than the floor over the window, off once they deliver enough', () => {
    expect(wanted([{ at: 0, peerBytes: 0 }, { at: 3000, peerBytes: 0 }])).toBe(true);
    expect(wanted([{ at: 0, peerBytes: 0 }, { at: 3000, peerBytes: 2999 }])).toBe(true);
    expect(wanted([{ at: 0, peerBytes: 0 }, { at: 3000, peerBytes: 3000 }])).toBe(false);
    // Only the last window counts: peers that stalled after a good start bring the web seeds back.
    const stalled = [
      { at: 0, peerBytes: 0 },
      { at: 1000, peerBytes: 50_000 },
      { at: 4000, peerBytes: 50_000 },
    ];
    expect(wanted(stalled)).toBe(true);
  });
  it('keeps just the samples the window needs', () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({ at: i * 1000, peerBytes: i }));
    trimSamples(samples, policy);
    expect(samples.map((s) => s.at)).toEqual([6000, 7000, 8000, 9000]);
  });
});

describe('seedingStopReason', () => {
  const state = { finishedAt: 0, uploaded: 0, length: 100 };
  it('keeps seeding within both limits', () => {
    expect(seedingStopReason(state, { maxSeconds: 60, maxRatio: 2 }, 59_000)).toBeUndefined();
  });
  it('stops at the time limit, at the ratio, or at once when seeding is off', () => {
    expect(seedingStopReason(state, { maxSeconds: 60, maxRatio: 2 }, 60_000)).toBe('seeded for 60 s (limit 60 s)');
    expect(seedingStopReason({ ...state, uploaded: 200 }, { maxSeconds: 60, maxRatio: 2 }, 1000)).toBe('uploaded 2.00 times its size (limit 2)');
    expect(seedingStopReason(state, { maxSeconds: 0, maxRatio: 2 }, 0)).toBe('seeding is off');
  });
  it('keeps seeding past every limit while a distribution still needs it, and applies the limits once it does not', () => {
    const policy = { maxSeconds: 60, maxRatio: 2 };
    expect(seedingStopReason({ ...state, uploaded: 500 }, policy, 600_000, true)).toBeUndefined();
    expect(seedingStopReason(state, { maxSeconds: 0, maxRatio: 2 }, 0, true)).toBeUndefined();
    expect(seedingStopReason({ ...state, uploaded: 500 }, policy, 600_000, false)).toBe('seeded for 600 s (limit 60 s)');
    expect(seedingStopReason(state, policy, 1000, false)).toBeUndefined();
  });
  it('a torrent is needed when any check says so; a check that throws counts as not needed', () => {
    const throws = (): boolean => {
      throw new Error('broken');
    };
    expect(anyNeeds([], HASH)).toBe(false);
    expect(anyNeeds([throws, (h) => h === HASH], HASH)).toBe(true);
    expect(anyNeeds([throws, (h) => h !== HASH], HASH)).toBe(false);
  });
});

describe('seeding records (what a restarted worker seeds again)', () => {
  const record = { infoHash: HASH, finishedAt: 1000, uploaded: 5, length: 100, metainfo: 'ZDQ6aW5mb2Vl' };

  it('reads back what it wrote, and drops anything else', () => {
    expect(parseSeedingRecord(JSON.stringify(record))).toEqual(record);
    expect(parseSeedingRecord('{"infoHash":"../x","finishedAt":1,"uploaded":0,"length":1,"metainfo":""}')).toBeUndefined();
    expect(parseSeedingRecord('{"infoHash":')).toBeUndefined();
    expect(parseSeedingRecord(JSON.stringify({ ...record, uploaded: '5' }))).toBeUndefined();
  });

  it('a record whose seeding window ran out while the worker was down is removed with its data, and so are an unreadable one and a half-written one', async () => {
    const base = await newTestDir('seeding-records');
    await mkdir(join(base, HASH));
    await writeFile(join(base, HASH, 'disk.img'), 'data');
    await saveSeedingRecord(base, { ...record, finishedAt: Date.now() - 120_000 });
    await writeFile(join(base, `${'f'.repeat(40)}.seeding.json`), 'not json');
    await writeFile(join(base, `${HASH}.seeding.json.4242.tmp`), '{"infoHash":'); // a worker died writing it
    const torrents = new SharedTorrentClient({ dht: false, lsd: false, pex: false, utp: false, listenPort: 0 }, createLogger('silent'));
    expect(await torrents.resumeSeeding(base, { maxSeconds: 60, maxRatio: 10 })).toEqual([]);
    expect(await readdir(base)).toEqual([]);
    await torrents.close();
  });
});
