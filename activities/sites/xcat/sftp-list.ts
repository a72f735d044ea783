/** One SFTP directory listing: the entries of `dir` (no `.` and `..`); a missing directory is empty. */
import type { SFTPWrapper } from 'ssh2';

export interface RemoteDirEntry {
  filename: string;
  attrs: { mtime: number };
}

export function listRemoteDir(sftp: SFTPWrapper, dir: string): Promise<RemoteDirEntry[]> {
  return new Promise((resolve, reject) =>
    sftp.readdir(dir, (err, list) => {
      if (err) return (err as Error & { code?: number }).code === 2 ? resolve([]) : reject(new Error(`sftp ls ${dir}: ${err.message}`));
      resolve(list.filter((e) => e.filename !== '.' && e.filename !== '..'));
    }),
  );
}
