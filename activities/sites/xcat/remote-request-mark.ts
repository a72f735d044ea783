/**
 * The last request of an image at an xCAT site: `<install>/.imageproxy/images/<guid>.requested`,
 * beside the image's record, holding an ISO time. A sibling file rather than a field of the record,
 * so marking a request never rewrites the record (and can never bring back one that deregister just
 * removed, or lose a field a concurrent register wrote). Replaced atomically with OpenSSH's
 * posix-rename extension, so a reader sees the old time or the new one, never no file.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { removeFile } from './remote-image-record.js';

export function requestMarkPath(recordsDir: string, guid: string): string {
  return posix.join(recordsDir, `${guid}.requested`);
}

/** The time in the mark, or undefined when there is none (or it is unreadable: a mark is a hint). */
export function readRequestMark(sftp: SFTPWrapper, path: string): Promise<Date | undefined> {
  return new Promise((resolve, reject) =>
    sftp.readFile(path, (err, data) => {
      if (err) return (err as Error & { code?: number }).code === 2 ? resolve(undefined) : reject(new Error(`sftp read ${path}: ${err.message}`));
      resolve(parseRequestMark(data.toString('utf8')));
    }),
  );
}

/** Parse a mark's content. Pure. */
export function parseRequestMark(text: string): Date | undefined {
  const t = text.trim();
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t)) return undefined;
  const at = new Date(t);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export async function writeRequestMark(sftp: SFTPWrapper, path: string, at: Date): Promise<void> {
  // A temp name of its own, so two workers marking at once never write into one file.
  const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await new Promise<void>((resolve, reject) =>
    sftp.writeFile(tmp, at.toISOString(), (err) => (err ? reject(new Error(`sftp write ${tmp}: ${err.message}`)) : resolve())),
  );
  try {
    await new Promise<void>((resolve, reject) =>
      sftp.ext_openssh_rename(tmp, path, (err) => (err ? reject(new Error(`sftp posix-rename ${tmp}: ${err.message}`)) : resolve())),
    );
  } catch (err) {
    await removeFile(sftp, tmp).catch(() => undefined);
    throw err;
  }
}
