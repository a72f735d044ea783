/**
 * Registering an imgexport bundle: uploaded to staging and `imgimport`ed; the files it places are
 * the ones its manifest names (checked to lie below the install root before anything runs).
 */
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { ErrorType } from '../../../common/errors.js';
import type { CachedPart, ImageIds } from '../../../common/image-types.js';
import type { RegisterRequest } from '../site-backend.js';
import type { ImgexportManifest } from './imgexport-manifest.js';
import type { ManagementNode } from './management-node.js';
import { stateDirsOf } from './osimage-naming.js';
import { readRecord, removeFile, writeRecord, type RemoteImageRecord } from './remote-image-record.js';
import { remoteSize } from './sftp-upload.js';
import type { SshSession } from './ssh-session.js';
import { stage, transaction } from './staged-transaction.js';
import { importedImageName } from './xcat-output.js';

export async function registerImgexport(
  node: ManagementNode,
  s: SshSession,
  sftp: SFTPWrapper,
  req: RegisterRequest,
  bundle: CachedPart,
  manifest: ImgexportManifest,
): Promise<ImageIds> {
  const { fail } = node;
  const cmd = node.config.commands;
  const name = manifest.imagename;
  const recordPath = stateDirsOf(node.root, req.guid).record;
  const previous = await readRecord(sftp, recordPath);
  const registeredAt = previous?.registeredAt ?? new Date().toISOString();
  const ids: ImageIds = { FILESYSTEM: name };
  const record = (state: RemoteImageRecord['state'], dirs: string[], sizes: Map<string, number>): RemoteImageRecord => ({
    guid: req.guid,
    state,
    form: 'bundle',
    osimage: name,
    metadataUrl: req.metadataUrl,
    files: manifest.imageFiles.map((path) => ({ path, ...(sizes.has(path) ? { size: sizes.get(path)! } : {}) })),
    dirs,
    ids,
    registeredAt,
  });
  const sizesNow = async (): Promise<Map<string, number>> => {
    const sizes = new Map<string, number>();
    for (const f of manifest.imageFiles) {
      const size = await remoteSize(sftp, f);
      if (size !== undefined) sizes.set(f, size);
    }
    return sizes;
  };

  const found = await node.lsdef(s, name);
  if (found.kind === 'exists') {
    // Ours from a crashed attempt (pending record) and complete on disk: finish it; else not ours.
    const sizes = await sizesNow();
    if (previous?.osimage === name && sizes.size === manifest.imageFiles.length) {
      await writeRecord(sftp, recordPath, record('complete', previous.dirs, sizes));
      return ids;
    }
    throw fail(ErrorType.SiteRejected, `osimage ${name} already exists at the site and was not imported by ImageProxy for ${req.guid}`, true);
  }
  for (const f of manifest.imageFiles) {
    if (!previous && (await node.exists(sftp, f))) throw fail(ErrorType.SiteRejected, `${f} exists at the site but no osimage uses it; imgimport would move it aside, refusing`, true);
  }

  const staging = await stage(node, s, sftp, req, [{ part: bundle, name: 'bundle.tgz' }]);
  return transaction(s, staging, async (undo) => {
    const newDirs: string[] = [];
    for (const f of manifest.imageFiles) for (const d of await node.missingDirs(sftp, posix.dirname(f))) if (!newDirs.includes(d)) newDirs.push(d);
    const dirs = [...new Set([...(previous?.dirs ?? []), ...newDirs])];
    await node.ensureRecordsDir(s);
    await writeRecord(sftp, recordPath, record('pending', dirs, new Map()));
    undo.push({ what: 'removing the record', run: () => removeFile(sftp, recordPath) });
    undo.push({
      what: 'removing the imported files',
      run: async () => {
        await node.run(s, ['rm', '-f', '--', ...manifest.imageFiles], 'removing the imported files');
        if (newDirs.length > 0) await s.exec(['rmdir', '--', ...[...newDirs].sort((a, b) => b.length - a.length)]);
      },
    });
    const result = await s.exec([cmd.imgimport, posix.join(staging, 'bundle.tgz')], { cwd: staging });
    const imported = importedImageName(result);
    if (imported !== name) {
      if ((await node.lsdef(s, name).catch(() => undefined))?.kind === 'exists') await s.exec([cmd.rmdef, '-t', 'osimage', '-o', name]);
      throw imported === undefined
        ? node.commandFailure(result, `imgimport of ${name}`)
        : fail(ErrorType.SiteRejected, `imgimport imported ${imported}, the manifest names ${name}`, true);
    }
    undo.push({ what: `rmdef ${name}`, run: () => node.rmdef(s, name) });
    await writeRecord(sftp, recordPath, record('complete', dirs, await sizesNow()));
    return ids;
  });
}
