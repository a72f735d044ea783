/**
 * The URL forms the BitTorrent transport takes, as pure functions:
 *   - `http(s)://host/path/name.torrent[?query][#file=PATH]`: the metainfo file, fetched over HTTP;
 *   - `magnet:?xt=urn:btih:…[&tr=…][#file=PATH]`: metadata from peers.
 * The fragment is never sent anywhere, so `#file=PATH` can name the file of a multi-file torrent
 * without changing what the origin sees. PATH is the file's path inside the torrent, with or
 * without the torrent's name in front, percent-encoded like any fragment.
 */

export type TorrentSource =
  | { kind: 'metainfo'; /** The .torrent file's URL, without the fragment. */ metainfoUrl: string; file?: string }
  | { kind: 'magnet'; /** The magnet link, without the fragment. */ magnet: string; file?: string };

export class TorrentUrlError extends Error {
  override readonly name = 'TorrentUrlError';
}

/** Whether `url` is one of the forms above (a path ending in `.torrent`, or a magnet link). */
export function isTorrentUrl(url: URL): boolean {
  if (url.protocol === 'magnet:') return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname.toLowerCase().endsWith('.torrent');
}

export function parseTorrentUrl(url: string): TorrentSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TorrentUrlError(`not a URL: ${url}`);
  }
  if (!isTorrentUrl(parsed)) throw new TorrentUrlError(`${url}: neither a magnet link nor a URL whose path ends in .torrent`);
  const file = fileOf(parsed.hash, url);
  const withoutFragment = url.split('#')[0]!;
  if (parsed.protocol === 'magnet:') {
    if (!/(^|[?&])xt=urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})(&|$)/.test(parsed.search.slice(1))) {
      throw new TorrentUrlError(`${url}: a magnet link needs xt=urn:btih:<40 hex digits or 32 base32 letters>`);
    }
    return { kind: 'magnet', magnet: withoutFragment, ...(file !== undefined ? { file } : {}) };
  }
  return { kind: 'metainfo', metainfoUrl: withoutFragment, ...(file !== undefined ? { file } : {}) };
}

function fileOf(hash: string, url: string): string | undefined {
  if (hash === '' || hash === '#') return undefined;
  const params = new URLSearchParams(hash.slice(1));
  const file = params.get('file');
  if (file === null || [...params.keys()].some((k) => k !== 'file')) {
    throw new TorrentUrlError(`${url}: the fragment may only be #file=<path inside the torrent>`);
  }
  if (file === '') throw new TorrentUrlError(`${url}: #file= names no file`);
  return file;
}
