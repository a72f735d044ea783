/**
 * How a registration changes the management node: the files are uploaded to a staging directory
 * first (resumable, hash-checked on the far side), then moved into place in a transaction whose
 * every step pushes its undo; a failure undoes what was done in reverse order.
 */
import { ImageProxyError } from '../../../common/errors.js';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import type { CachedPart } from '../../../common/image-types.js';
import type { RegisterRequest } from '../site-backend.js';
import type { ManagementNode } from './management-node.js';
import { stateDirsOf } from './osimage-naming.js';
import { uploadVerified } from './sftp-upload.js';
import type { SshSession } from './ssh-session.js';

/** One step to undo, run in reverse order when a create fails. */
export type Undo = { what: string; run: () => Promise<void> };

/** Upload the files to the staging directory, verified; each lands at `<staging>/<name>`. */
export async function stage(
  node: ManagementNode,
  s: SshSession,
  sftp: SFTPWrapper,
  req: RegisterRequest,
  files: { part: CachedPart; name: string }[],
): Promise<string> {
  const { staging } = stateDirsOf(node.root, req.guid);
  await node.run(s, ['mkdir', '-p', '--', staging], 'creating the staging directory', { asUser: true });
  for (const { part, name } of files) {
    const outcome = await uploadVerified({
      session: s,
      sftp,
      localPath: part.path,
      size: part.size,
      hash: part.hash,
      remotePath: posix.join(staging, name),
      ...(node.config.uploadBytesPerSecond ? { bytesPerSecond: node.config.uploadBytesPerSecond } : {}),
      onProgress: (p) => req.onProgress?.(JSON.stringify({ upload: name, done: p.done, total: p.total, resumedFrom: p.resumedFrom })),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    req.onProgress?.(JSON.stringify({ uploaded: name, sent: outcome.sent, resumedFrom: outcome.resumedFrom, alreadyThere: outcome.alreadyThere }));
  }
  return staging;
}

/** Run `steps`; on failure undo what was done in reverse order, remove the staging directory, rethrow. */
export async function transaction<T>(s: SshSession, staging: string, steps: (undo: Undo[]) => Promise<T>): Promise<T> {
  const undo: Undo[] = [];
  try {
    const result = await steps(undo);
    await s.exec(['rm', '-rf', '--', staging], { asUser: true });
    return result;
  } catch (err) {
    const problems: string[] = [];
    for (const step of undo.reverse()) {
      await step.run().catch((e: Error) => problems.push(`${step.what}: ${e.message}`));
    }
    // A retryable failure keeps the staged uploads, so the next attempt resumes them.
    const retryable = err instanceof ImageProxyError ? !err.nonRetryable : true;
    if (!retryable) await s.exec(['rm', '-rf', '--', staging], { asUser: true }).catch(() => undefined);
    if (problems.length > 0 && err instanceof Error) err.message += ` (and undoing it failed: ${problems.join('; ')})`;
    throw err;
  }
}
