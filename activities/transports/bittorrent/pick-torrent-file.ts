/**
 * Which file of a torrent is the part: the only one, or the one the URL names (`#file=`). Pure.
 * Single-file torrents are the contract; a multi-file torrent must say which file it means.
 */

export interface TorrentFileEntry {
  /** Path inside the download directory, the torrent's name first for multi-file torrents. */
  path: string;
  length: number;
}

export class TorrentFileChoiceError extends Error {
  override readonly name = 'TorrentFileChoiceError';
}

/** The index of the chosen file in `files`. `torrentName` is the torrent's `info.name`. */
export function pickTorrentFile(files: readonly TorrentFileEntry[], torrentName: string, wanted: string | undefined): number {
  if (files.length === 0) throw new TorrentFileChoiceError(`torrent "${torrentName}" lists no files`);
  if (wanted === undefined) {
    if (files.length === 1) return 0;
    const listed = files.slice(0, 5).map((f) => insideName(f.path, torrentName));
    throw new TorrentFileChoiceError(
      `torrent "${torrentName}" holds ${files.length} files (${listed.join(', ')}${files.length > 5 ? ', …' : ''}); ` +
        'name the one to fetch with #file=<path> at the end of the URL',
    );
  }
  const want = normalise(wanted);
  const index = files.findIndex((f) => normalise(f.path) === want || normalise(insideName(f.path, torrentName)) === want);
  if (index < 0) throw new TorrentFileChoiceError(`torrent "${torrentName}" has no file ${wanted}`);
  return index;
}

function insideName(path: string, torrentName: string): string {
  const prefix = `${torrentName}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\/+/, '');
}
