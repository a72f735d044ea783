/**
 * Upload one file to the management node over SFTP, resumable and verified: bytes go to
 * `<final>.part`, appended from its current size (so a crashed attempt is continued, not
 * restarted); the remote copy is hashed on the far side (`sha1sum`/`sha256sum`/`sha512sum`) and
 * only a matching one is renamed to `<final>`. A final file already there and matching is kept.
 */
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import type { ContentHash } from '../../../common/image-types.js';
import type { SshSession } from './ssh-session.js';
import { describeFailure } from './xcat-output.js';

export interface UploadProgress {
  file: string;
  done: number;
  total: number;
  /** Bytes that were already on the far side when this attempt started. */
  resumedFrom: number;
}

export interface VerifiedUploadOptions {
  session: SshSession;
  sftp: SFTPWrapper;
  localPath: string;
  size: number;
  hash: ContentHash;
  /** Remote path the verified file ends at (in the staging directory). */
  remotePath: string;
  /** Cap on the rate, bytes per second. */
  bytesPerSecond?: number;
  /**
   * Bytes read and handed to one SFTP write; ssh2 splits each into packets that are all in flight
   * at once. 4 MiB measured no faster than the default here (bench/xcat-sftp-upload.ts). @default 256 KiB
   */
  chunkBytes?: number;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}

/** The far side's copy does not hash to the source: it was removed; a new attempt uploads again. */
export class RemoteHashMismatchError extends Error {
  override readonly name = 'RemoteHashMismatchError';
}

export interface UploadOutcome {
  /** Bytes sent by this attempt. */
  sent: number;
  resumedFrom: number;
  /** The verified file was already in place. */
  alreadyThere: boolean;
}

export async function uploadVerified(o: VerifiedUploadOptions): Promise<UploadOutcome> {
  const finalSize = await remoteSize(o.sftp, o.remotePath);
  if (finalSize === o.size && (await remoteHash(o.session, o.remotePath, o.hash.algorithm)) === o.hash.hex) {
    return { sent: 0, resumedFrom: o.size, alreadyThere: true };
  }
  if (finalSize !== undefined) await unlink(o.sftp, o.remotePath); // not the right bytes
  const partial = `${o.remotePath}.part`;
  let resumedFrom = (await remoteSize(o.sftp, partial)) ?? 0;
  if (resumedFrom > o.size) resumedFrom = 0; // not a prefix of this file: start over
  let sent = 0;
  if (resumedFrom < o.size || o.size === 0) {
    const report = (): void => o.onProgress?.({ file: o.remotePath, done: resumedFrom + sent, total: o.size, resumedFrom });
    report();
    let last = Date.now();
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        sent += chunk.length;
        if (Date.now() - last > 1000) {
          last = Date.now();
          report();
        }
        cb(null, chunk);
      },
    });
    const stages = [
      createReadStream(o.localPath, { start: resumedFrom, highWaterMark: o.chunkBytes ?? 256 << 10 }),
      ...(o.bytesPerSecond ? [rateLimit(o.bytesPerSecond)] : []),
      counter,
      o.sftp.createWriteStream(partial, resumedFrom > 0 ? { flags: 'r+', start: resumedFrom } : { flags: 'w' }),
    ];
    await pipeline(stages, ...(o.signal ? [{ signal: o.signal }] : []));
    report();
  }
  const got = await remoteHash(o.session, partial, o.hash.algorithm);
  if (got !== o.hash.hex) {
    await unlink(o.sftp, partial);
    throw new RemoteHashMismatchError(
      `${partial}: ${o.hash.algorithm} on the management node is ${got}, the source's is ${o.hash.hex}; removed, the next attempt uploads it again`,
    );
  }
  await rename(o.sftp, partial, o.remotePath);
  return { sent, resumedFrom, alreadyThere: false };
}

/** Size of a remote file, or undefined when there is none. */
export function remoteSize(sftp: SFTPWrapper, path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    sftp.stat(path, (err, stats) => {
      if (!err) return resolve(stats.size);
      if ((err as Error & { code?: number }).code === 2) return resolve(undefined); // SSH_FX_NO_SUCH_FILE
      reject(new Error(`sftp stat ${path}: ${err.message}`));
    });
  });
}

/** The hash the management node computes for `path` (`<algo>sum`), lowercase hex, or a description of the failure. */
export async function remoteHash(session: SshSession, path: string, algorithm: ContentHash['algorithm']): Promise<string> {
  const result = await session.exec([`${algorithm}sum`, '--', path], { asUser: true });
  // GNU coreutils prefixes the line with "\" when it escapes the file name.
  const hex = /^\\?([0-9a-f]+)\s/.exec(result.stdout)?.[1];
  if (result.code !== 0 || !hex) return `(not computed: ${describeFailure(result)})`;
  return hex;
}

function rename(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => sftp.rename(from, to, (err) => (err ? reject(new Error(`sftp rename ${from}: ${err.message}`)) : resolve())));
}

export function unlink(sftp: SFTPWrapper, path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    sftp.unlink(path, (err) => (err && (err as Error & { code?: number }).code !== 2 ? reject(new Error(`sftp rm ${path}: ${err.message}`)) : resolve())),
  );
}

/** Pass bytes on no faster than `bytesPerSecond`. */
function rateLimit(bytesPerSecond: number): Transform {
  const started = Date.now();
  let passed = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      passed += chunk.length;
      const due = started + (passed / bytesPerSecond) * 1000;
      setTimeout(() => cb(null, chunk), Math.max(0, due - Date.now()));
    },
  });
}
