/**
 * ImageProxy's record of an image on the management node, `<install>/.imageproxy/images/<guid>.json`:
 * the osimage name, the files and directories registering made. Written `pending` before xCAT is
 * changed and `complete` last, so lookup trusts only a complete image, a retried attempt can finish
 * a crashed one, and deregister removes exactly what was made.
 */
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';

export interface RemoteImageRecord {
  guid: string;
  state: 'pending' | 'complete';
  form: 'netboot' | 'bundle';
  osimage: string;
  metadataUrl: string;
  /** Files placed for the image (absolute), with their sizes when known. */
  files: { path: string; size?: number }[];
  /** Directories registering created, deepest last. */
  dirs: string[];
  /** Ids answered for the image. */
  ids: Partial<Record<'FILESYSTEM' | 'KERNEL' | 'RAMDISK', string>>;
  /** ISO time of the first registration (absent in records written before it was kept: the file's mtime is used). */
  registeredAt?: string;
}

export function readRecord(sftp: SFTPWrapper, path: string): Promise<RemoteImageRecord | undefined> {
  return new Promise((resolve, reject) => {
    sftp.readFile(path, (err, data) => {
      if (err) {
        if ((err as Error & { code?: number }).code === 2) return resolve(undefined);
        return reject(new Error(`sftp read ${path}: ${err.message}`));
      }
      try {
        resolve(JSON.parse(data.toString('utf8')) as RemoteImageRecord);
      } catch {
        resolve(undefined); // a torn write counts as no record
      }
    });
  });
}

/** Write atomically: a temp file beside it, then rename (SFTP rename will not replace, so remove first). */
export async function writeRecord(sftp: SFTPWrapper, path: string, record: RemoteImageRecord): Promise<void> {
  const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.tmp`);
  await new Promise<void>((resolve, reject) =>
    sftp.writeFile(tmp, JSON.stringify(record, null, 2), (err) => (err ? reject(new Error(`sftp write ${tmp}: ${err.message}`)) : resolve())),
  );
  await removeFile(sftp, path);
  await new Promise<void>((resolve, reject) => sftp.rename(tmp, path, (err) => (err ? reject(new Error(`sftp rename ${tmp}: ${err.message}`)) : resolve())));
}

export function removeFile(sftp: SFTPWrapper, path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    sftp.unlink(path, (err) => (err && (err as Error & { code?: number }).code !== 2 ? reject(new Error(`sftp rm ${path}: ${err.message}`)) : resolve())),
  );
}
