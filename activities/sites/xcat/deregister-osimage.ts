/**
 * Removing the image of a GUID from the management node: rmdef, then exactly the files and
 * directories its record says registering made. Without a record (lost, or registered by hand
 * under our name) only a netboot set in our own directory is removed.
 */
import { posix } from 'node:path';
import type { ManagementNode } from './management-node.js';
import { netbootNamesOf, stateDirsOf } from './osimage-naming.js';
import { readRecord, removeFile } from './remote-image-record.js';
import { requestMarkPath } from './remote-request-mark.js';
import { checkPathUnder } from './remote-values.js';
import { listRemoteDir } from './sftp-list.js';

export async function deregisterOsimage(node: ManagementNode, guid: string): Promise<void> {
  const { config, root } = node;
  await node.withSession(async (s, sftp) => {
    const dirs = stateDirsOf(root, guid);
    const record = await readRecord(sftp, dirs.record);
    let osimage = record?.osimage;
    let files = record?.files.map((f) => f.path) ?? [];
    let made = record?.dirs ?? [];
    if (!record) {
      const names = netbootNamesOf(guid, { osvers: config.osvers, osarch: config.osarch, profilePrefix: config.profilePrefix, installRoot: root });
      const found = await node.lsdef(s, names.osimage);
      if (found.kind !== 'exists' || found.attrs.rootimgdir !== names.dir) return;
      osimage = names.osimage;
      files = (await listRemoteDir(sftp, names.dir)).map((e) => posix.join(names.dir, e.filename));
      made = [names.dir];
    }
    if (osimage && (await node.lsdef(s, osimage)).kind === 'exists') await node.rmdef(s, osimage);
    for (const f of files) checkPathUnder(f, root, 'file');
    if (files.length > 0) await node.run(s, ['rm', '-f', '--', ...files], 'removing the image files');
    for (const d of [...made].sort((a, b) => b.length - a.length)) await s.exec(['rmdir', '--', checkPathUnder(d, root, 'directory')]);
    await removeFile(sftp, dirs.record);
    await removeFile(sftp, requestMarkPath(dirs.recordsDir, guid));
    await s.exec(['rm', '-rf', '--', dirs.staging], { asUser: true });
  });
}
