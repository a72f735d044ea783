/** The BitTorrent transport's rules: URL forms, file choice, allowed sources, seeding policy and records. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedSources } from '../../../../activities/transports/bittorrent/allowed-sources.js';
import { pickTorrentFile } from '../../../../activities/transports/bittorrent/pick-torrent-file.js';
import { seedingStopReason } from '../../../../activities/transports/bittorrent/seeding-policy.js';
import { parseSeedingRecord, saveSeedingRecord } from '../../../../activities/transports/bittorrent/seeding-record.js';
import { SharedTorrentClient } from '../../../../activities/transports/bittorrent/shared-torrent-client.js';
import { isTorrentUrl, parseTorrentUrl } from '../../../../activities/transports/bittorrent/torrent-url.js';
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
