/**
 * The partial file between the peer path and the origin transport. The HTTP transport resumes a
 * partial file from its end when its state file holds the origin's validator; bytes the peer path
 * wrote are checked only by the piece digests (or the part's signature at the end), so that
 * state must not let HTTP resume them unchecked: a wrong byte would cost a whole download and end
 * in a hash mismatch that is not retried. While the peer path writes the file, the state file says
 * so (keeping HTTP's validator inside); before the origin takes over, the file is cut to its
 * pieces that match the trusted digests (none without them) and HTTP's validator is put back.
 */
import { readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import type { PieceHashes } from '../../../common/fleet-contract.js';
import { parseHttpResumeState, type HttpResumeState } from '../http-resume-point.js';
import type { FetchRequest } from '../transport.js';
import { readKeptPrefix } from './kept-prefix.js';

interface PeerMark {
  writer: 'peer';
  /** The HTTP transport's state from before the peer path took the file over. */
  http?: HttpResumeState;
}

function parseMark(text: string | undefined): PeerMark | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<PeerMark>;
    return v.writer === 'peer' ? { writer: 'peer', ...(v.http ? { http: v.http } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** Notes in `statePath`, before the peer path writes the file, that it does. */
export async function markWrittenByPeers(statePath: string): Promise<void> {
  const text = await readFile(statePath, 'utf8').catch(() => undefined);
  if (parseMark(text)) return;
  const http = parseHttpResumeState(text);
  await writeFile(statePath, JSON.stringify({ writer: 'peer', ...(http ? { http } : {}) } satisfies PeerMark));
}

/**
 * Before the origin transport resumes the file: when the peer path wrote it, cut it to the whole
 * pieces that match `trusted` and give HTTP its state back. Answers the bytes kept, or undefined
 * when the peer path had not written the file. Without a validator for this URL (in the state or
 * the last heartbeat) HTTP starts over anyway: then the pieces are not read back at all.
 */
export async function handOverToOrigin(
  request: Pick<FetchRequest, 'url' | 'destPath'> & { resume: NonNullable<FetchRequest['resume']> },
  trusted: PieceHashes | undefined,
  algorithm: PieceHashes['algorithm'],
): Promise<number | undefined> {
  const { statePath, lastProgress } = request.resume;
  const mark = parseMark(await readFile(statePath, 'utf8').catch(() => undefined));
  if (!mark) return undefined;
  const originCanResume = mark.http?.url === request.url || parseHttpResumeState(lastProgress?.resumeToken)?.url === request.url;
  const kept = await cutToCheckedPieces(request.destPath, originCanResume ? trusted : undefined, algorithm);
  if (mark.http) await writeFile(statePath, JSON.stringify(mark.http));
  else await rm(statePath, { force: true });
  return kept;
}

/** Cuts the file to its pieces that match `trusted` (to nothing without them); answers the bytes kept. */
async function cutToCheckedPieces(path: string, trusted: PieceHashes | undefined, algorithm: PieceHashes['algorithm']): Promise<number> {
  const onDisk = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (onDisk <= 0) return 0;
  if (!trusted) {
    await truncate(path, 0);
    return 0;
  }
  return (await readKeptPrefix(path, { claimed: onDisk, pieceBytes: trusted.pieceBytes, algorithm, trusted })).bytes;
}
