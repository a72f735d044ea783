/**
 * Where a resumed HTTP download continues: the partial file's size (the file, not the last
 * heartbeat, is the truth), the validator for `If-Range` (from the state file next to the partial,
 * or the heartbeat's token as a fallback), and the hash of the kept prefix rebuilt from disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { FetchRequest } from './transport.js';

/** What the state file next to a partial download holds. */
export interface HttpResumeState {
  url: string;
  validator: string;
}

export interface RangeAsk {
  offset: number;
  validator: string;
}

/** Where a resumed transfer continues, or undefined to start from zero. */
export async function resumePoint(request: FetchRequest): Promise<RangeAsk | undefined> {
  const size = await stat(request.destPath).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return undefined;
  const saved = parseHttpResumeState(await readFile(request.resume!.statePath, 'utf8').catch(() => undefined));
  const fromBeat = parseHttpResumeState(request.resume!.lastProgress?.resumeToken);
  const validator = [saved, fromBeat].find((s) => s?.url === request.url)?.validator;
  // Without a validator a changed file could not be told apart: start over rather than stitch.
  return validator ? { offset: size, validator } : undefined;
}

/** A resume state (file or heartbeat token), or undefined when absent or not one of ours. */
export function parseHttpResumeState(text: string | undefined): HttpResumeState | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<HttpResumeState>;
    return typeof v.url === 'string' && typeof v.validator === 'string' ? { url: v.url, validator: v.validator } : undefined;
  } catch {
    return undefined;
  }
}

export async function hashPrefix(request: FetchRequest, bytes: number): Promise<Hash> {
  const hash = createHash(request.hashAlgorithm);
  for await (const chunk of createReadStream(request.destPath, { start: 0, end: bytes - 1, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash;
}

