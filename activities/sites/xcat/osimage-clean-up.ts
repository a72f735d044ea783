/**
 * The clean-up's capabilities at an `xcat` site (SiteBackend.listImages, markRequested, inUse):
 * images are the complete records under `<install>/.imageproxy/images/`, requests are marks beside
 * them, and an image is in use while any node's definition names it.
 */
import { posix } from 'node:path';
import { ErrorType } from '../../../common/errors.js';
import type { RegisteredImage } from '../site-backend.js';
import type { ManagementNode } from './management-node.js';
import { classifyNodeUsage, nodesUsingArgs } from './node-usage.js';
import { stateDirsOf } from './osimage-naming.js';
import { readRecord } from './remote-image-record.js';
import { readRequestMark, requestMarkPath, writeRequestMark } from './remote-request-mark.js';
import { checkName } from './remote-values.js';
import { listRemoteDir } from './sftp-list.js';

export async function listOsimages(node: ManagementNode): Promise<RegisteredImage[]> {
  return node.withSession(async (_s, sftp) => {
    const { recordsDir } = stateDirsOf(node.root, 'x');
    const images: RegisteredImage[] = [];
    for (const entry of await listRemoteDir(sftp, recordsDir)) {
      const guid = /^([^.][^/]*)\.json$/.exec(entry.filename)?.[1];
      if (!guid) continue; // request marks, temp files
      const record = await readRecord(sftp, posix.join(recordsDir, entry.filename));
      // Pending: being registered (or undone); never an image anyone can use, and not ours to clean.
      if (!record || record.state !== 'complete' || record.guid !== guid) continue;
      const parsed = record.registeredAt ? new Date(record.registeredAt) : undefined;
      const registeredAt = parsed && !Number.isNaN(parsed.getTime()) ? parsed : new Date(entry.attrs.mtime * 1000);
      const requested = await readRequestMark(sftp, requestMarkPath(recordsDir, guid));
      images.push({ guid, ids: record.ids, registeredAt, lastRequestedAt: requested && requested > registeredAt ? requested : registeredAt });
    }
    return images;
  });
}

export async function markOsimageRequested(node: ManagementNode, guid: string, at: Date): Promise<void> {
  await node.withSession(async (_s, sftp) => {
    const dirs = stateDirsOf(node.root, guid);
    // Only an image ImageProxy holds here: never leave a mark without a record.
    const record = await readRecord(sftp, dirs.record);
    if (!record || record.state !== 'complete') return;
    await writeRequestMark(sftp, requestMarkPath(dirs.recordsDir, guid), at);
  });
}

export async function osimageInUse(node: ManagementNode, guid: string): Promise<boolean> {
  return node.withSession(async (s, sftp) => {
    const record = await readRecord(sftp, stateDirsOf(node.root, guid).record);
    if (!record) return false; // nothing of ours at the site
    const osimage = checkName(record.osimage, 'osimage name');
    // By osimage name (nodeset … osimage=N); and for our netboot sets, whose profile
    // `<profilePrefix>-<guid>` is theirs alone, also by profile (nodeset … netboot, the older way).
    const asks: [string, string][] = [['provmethod', osimage]];
    if (record.form === 'netboot' && record.files[0]) {
      // The profile is the image directory's name (as registered, whatever the config says now).
      asks.push(['profile', checkName(posix.basename(posix.dirname(record.files[0].path)), 'profile')]);
    }
    for (const [attr, value] of asks) {
      const usage = classifyNodeUsage(await s.exec([node.config.commands.lsdef, ...nodesUsingArgs(value, attr)]), value, attr);
      if (usage.kind === 'error') {
        // Never "unused" on an error: the clean-up retries, and reports the image failed if it persists.
        const type = usage.failure === 'permission-denied' ? ErrorType.Misconfigured : ErrorType.SiteUnavailable;
        throw node.fail(type, `cannot tell which nodes use osimage ${osimage}: ${usage.message}`, usage.failure === 'permission-denied');
      }
      if (usage.kind === 'in-use') return true;
    }
    return false;
  });
}
