/**
 * Registering a netboot set (kernel, initrd, root image): the files go into
 * `<install>/netboot/<osvers>/<osarch>/<profile>/` and the osimage is defined with `mkdef`.
 */
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { ErrorType } from '../../../common/errors.js';
import type { ImageIds } from '../../../common/image-types.js';
import type { RegisterRequest } from '../site-backend.js';
import type { InputForm } from './detect-input-form.js';
import type { ManagementNode } from './management-node.js';
import { NETBOOT_INITRD, NETBOOT_KERNEL, netbootNamesOf, rootimgFileName, stateDirsOf } from './osimage-naming.js';
import { readRecord, removeFile, writeRecord, type RemoteImageRecord } from './remote-image-record.js';
import { checkPathUnder } from './remote-values.js';
import type { SshSession } from './ssh-session.js';
import { stage, transaction } from './staged-transaction.js';
import { alreadyExists, definedCount } from './xcat-output.js';

export async function registerNetboot(
  node: ManagementNode,
  s: SshSession,
  sftp: SFTPWrapper,
  req: RegisterRequest,
  form: Extract<InputForm, { form: 'netboot' }>,
): Promise<ImageIds> {
  const { config, root, fail } = node;
  const names = netbootNamesOf(req.guid, { osvers: config.osvers, osarch: config.osarch, profilePrefix: config.profilePrefix, installRoot: root });
  checkPathUnder(names.dir, root, 'image directory');
  const files = [
    { part: form.kernel, name: NETBOOT_KERNEL },
    { part: form.ramdisk, name: NETBOOT_INITRD },
    { part: form.rootimg, name: rootimgFileName(form.kind) },
  ];
  const ids: ImageIds = { FILESYSTEM: names.osimage, KERNEL: posix.join(names.dir, NETBOOT_KERNEL), RAMDISK: posix.join(names.dir, NETBOOT_INITRD) };
  const recordPath = stateDirsOf(root, req.guid).record;
  const previous = await readRecord(sftp, recordPath);
  const registeredAt = previous?.registeredAt ?? new Date().toISOString();
  const record = (state: RemoteImageRecord['state'], dirs: string[]): RemoteImageRecord => ({
    guid: req.guid,
    state,
    form: 'netboot',
    osimage: names.osimage,
    metadataUrl: req.metadataUrl,
    files: files.map((f) => ({ path: posix.join(names.dir, f.name), size: f.part.size })),
    dirs,
    ids,
    registeredAt,
  });

  const found = await node.lsdef(s, names.osimage);
  if (found.kind === 'exists') {
    // Identical (same directory, same bytes) is answered as is; anything else is not ours to touch.
    const same = found.attrs.rootimgdir === names.dir && (await node.filesMatch(s, sftp, names.dir, files));
    if (!same) throw fail(ErrorType.SiteRejected, `osimage ${names.osimage} already exists at the site and is not this image (rootimgdir=${found.attrs.rootimgdir ?? '?'})`, true);
    await node.ensureRecordsDir(s);
    await writeRecord(sftp, recordPath, record('complete', previous?.dirs ?? []));
    return ids;
  }
  for (const f of files) {
    const path = posix.join(names.dir, f.name);
    if ((await node.exists(sftp, path)) && !previous) throw fail(ErrorType.SiteRejected, `${path} exists at the site but no osimage uses it; refusing to overwrite`, true);
  }

  const staging = await stage(node, s, sftp, req, files);
  return transaction(s, staging, async (undo) => {
    // Only the profile directory is this image's. Its parents (netboot/<osvers>/<osarch>) are
    // xCAT's shared layout: two registrations at once cannot agree on who made them, so they stay.
    const newDirs = (await node.exists(sftp, names.dir)) ? [] : [names.dir];
    const dirs = [...new Set([...(previous?.dirs ?? []), ...newDirs])];
    await node.ensureRecordsDir(s);
    await writeRecord(sftp, recordPath, record('pending', dirs));
    undo.push({ what: 'removing the record', run: () => removeFile(sftp, recordPath) });
    if (newDirs.length > 0) {
      await node.run(s, ['mkdir', '-p', '--', names.dir], `creating ${names.dir}`);
      undo.push({ what: `removing ${newDirs.join(', ')}`, run: async () => void (await s.exec(['rmdir', '--', ...newDirs])) });
    }
    for (const f of files) {
      const to = posix.join(names.dir, f.name);
      await node.run(s, ['mv', '-f', '--', posix.join(staging, f.name), to], `moving ${f.name} into place`);
      // Back into staging, not removed: a retry after a fault that passes (xcatd down at mkdef) finds
      // it uploaded and verified there; a final failure removes the staging directory with it.
      const back = posix.join(staging, f.name);
      undo.push({ what: `moving ${to} back to staging`, run: async () => void (await node.run(s, ['mv', '-f', '--', to, back], `moving ${f.name} back to staging`)) });
    }
    const mkdef = await s.exec([
      config.commands.mkdef,
      '-t',
      'osimage',
      '-o',
      names.osimage,
      'imagetype=linux',
      'provmethod=netboot',
      'osname=Linux',
      `osvers=${config.osvers}`,
      `osarch=${config.osarch}`,
      `profile=${names.profile}`,
      `rootimgdir=${names.dir}`,
    ]);
    if (definedCount(mkdef) < 1) {
      // Undo a half-made definition, but never one that was there before (mkdef refused it).
      if (!alreadyExists(mkdef, names.osimage) && (await node.lsdef(s, names.osimage).catch(() => undefined))?.kind === 'exists') {
        await s.exec([config.commands.rmdef, '-t', 'osimage', '-o', names.osimage]);
      }
      throw node.commandFailure(mkdef, `mkdef ${names.osimage}`);
    }
    undo.push({ what: `rmdef ${names.osimage}`, run: () => node.rmdef(s, names.osimage) });
    await writeRecord(sftp, recordPath, record('complete', dirs));
    return ids;
  });
}
