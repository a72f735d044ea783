/**
 * The `xcat` site: makes an image an xCAT osimage on the management node, over SSH (ssh2).
 * Netboot sets are uploaded into `<install>/netboot/<osvers>/<osarch>/<profile>/` and defined with
 * `mkdef`; imgexport bundles are checked, uploaded and `imgimport`ed. Uploads go to a staging
 * directory on the same file system, resumable and hash-checked on the far side, before anything
 * is moved into place. A failed create is undone in reverse order, and only what it made.
 */
import { posix } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { ErrorType } from '../../../common/errors.js';
import type { CachedPart, ImageIds } from '../../../common/image-types.js';
import type { RegisteredImage, RegisterRequest, SiteBackend } from '../site-backend.js';
import { detectInputForm, InputFormError, type InputForm } from './detect-input-form.js';
import { parseHostKeyPin } from './host-key-pin.js';
import { pathsOutside, type ImgexportManifest } from './imgexport-manifest.js';
import { NETBOOT_INITRD, NETBOOT_KERNEL, netbootNamesOf, rootimgFileName, stateDirsOf } from './osimage-naming.js';
import { classifyNodeUsage, nodesUsingArgs } from './node-usage.js';
import { readRecord, removeFile, writeRecord, type RemoteImageRecord } from './remote-image-record.js';
import { readRequestMark, requestMarkPath, writeRequestMark } from './remote-request-mark.js';
import { checkName, checkPathUnder, RemoteValueError } from './remote-values.js';
import { remoteHash, remoteSize, RemoteHashMismatchError, uploadVerified } from './sftp-upload.js';
import { HostKeyMismatchError, SshAuthError, SshSession, type SshTarget } from './ssh-session.js';
import type { XcatSiteConfig } from './xcat-site-options.js';
import {
  alreadyExists,
  classifyLsdef,
  definedCount,
  describeFailure,
  failureKindOf,
  importedImageName,
  parseNodesetOutput,
  removedCount,
  type CommandResult,
} from './xcat-output.js';

export const XCAT_SITE_TYPE = 'xcat';

export interface XcatSiteOptions {
  site: string;
  config: XcatSiteConfig;
  /** Contents of the private key file (read by the worker at start). */
  privateKey: Buffer;
}

export interface XcatSite extends SiteBackend {
  listImages(): Promise<RegisteredImage[]>;
  markRequested(guid: string, at: Date): Promise<void>;
  inUse(guid: string): Promise<boolean>;
  /** `nodeset <nodes> osimage=<name>` for the image of `guid`; each node's answer. */
  provision(guid: string, nodes: readonly string[]): Promise<Record<string, { ok: boolean; detail: string }>>;
}

/** One step to undo, run in reverse order when a create fails. */
type Undo = { what: string; run: () => Promise<void> };

export function createXcatSite({ site, config, privateKey }: XcatSiteOptions): XcatSite {
  // A key that cannot be read (or a wrong passphrase) is a configuration error, found at start.
  const parsedKey = ssh2.utils.parseKey(privateKey, config.passphrase);
  if (parsedKey instanceof Error) throw new Error(`xcat site ${site}: privateKeyPath: ${parsedKey.message}`);
  const target: SshTarget = {
    host: config.host,
    port: config.port,
    username: config.user,
    privateKey,
    ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}),
    hostKey: parseHostKeyPin(config.hostKey),
    sudo: config.sudo,
    readyTimeoutMs: config.connectTimeoutMs,
  };
  const root = config.installRoot;
  const cmd = config.commands;

  const fail = (type: ErrorType, message: string, nonRetryable: boolean): ApplicationFailure =>
    ApplicationFailure.create({ type, nonRetryable, message: `xcat site ${site}: ${message}` });

  /** A command's failure as the failure to throw: xcatd down may pass, the rest is the site's answer. */
  const commandFailure = (result: CommandResult, doing: string, retryOther = false): ApplicationFailure => {
    const kind = failureKindOf(result);
    const text = `${doing} failed: ${describeFailure(result)}`;
    if (kind === 'xcatd-down') return fail(ErrorType.SiteUnavailable, text, false);
    if (kind === 'permission-denied') return fail(ErrorType.Misconfigured, text, true);
    return retryOther ? fail(ErrorType.SiteUnavailable, text, false) : fail(ErrorType.SiteRejected, text, true);
  };

  async function withSession<T>(fn: (s: SshSession, sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    let session: SshSession;
    try {
      session = await SshSession.open(target);
    } catch (err) {
      if (err instanceof HostKeyMismatchError || err instanceof SshAuthError) throw fail(ErrorType.Misconfigured, err.message, true);
      throw fail(ErrorType.SiteUnavailable, (err as Error).message, false);
    }
    try {
      return await fn(session, await session.sftp());
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (err instanceof RemoteValueError || err instanceof InputFormError) throw fail(ErrorType.SiteRejected, err.message, true);
      if (err instanceof RemoteHashMismatchError) throw fail(ErrorType.TransferInterrupted, err.message, false);
      throw fail(ErrorType.SiteUnavailable, (err as Error).message, false);
    } finally {
      session.close();
    }
  }

  async function lsdef(s: SshSession, name: string) {
    const outcome = classifyLsdef(await s.exec([cmd.lsdef, '-t', 'osimage', '-o', checkName(name, 'osimage name')]), name);
    if (outcome.kind === 'error') {
      const type = outcome.failure === 'permission-denied' ? ErrorType.Misconfigured : ErrorType.SiteUnavailable;
      throw fail(type, `lsdef -t osimage -o ${name}: ${outcome.message}`, outcome.failure === 'permission-denied');
    }
    return outcome;
  }

  /** Run as the configured user (or root through sudo); a failure throws with the command's output. */
  async function run(s: SshSession, argv: string[], doing: string, opts: { asUser?: boolean; cwd?: string } = {}): Promise<CommandResult> {
    const result = await s.exec(argv, opts);
    if (result.code !== 0) throw commandFailure(result, doing, true);
    return result;
  }

  async function exists(sftp: SFTPWrapper, path: string): Promise<boolean> {
    return (await remoteSize(sftp, path)) !== undefined;
  }

  /** The ancestors of `dir` below the install root that do not exist yet, shallowest first. */
  async function missingDirs(sftp: SFTPWrapper, dir: string): Promise<string[]> {
    const missing: string[] = [];
    for (let d = dir; d !== root && d.startsWith(`${root}/`); d = posix.dirname(d)) {
      if (await exists(sftp, d)) break;
      missing.unshift(d);
    }
    return missing;
  }

  async function lookupWith(s: SshSession, sftp: SFTPWrapper, guid: string): Promise<ImageIds | undefined> {
    const record = await readRecord(sftp, stateDirsOf(root, guid).record);
    if (!record || record.state !== 'complete') return undefined;
    if ((await lsdef(s, record.osimage)).kind !== 'exists') return undefined;
    for (const f of record.files) {
      const size = await remoteSize(sftp, f.path);
      if (size === undefined || (f.size !== undefined && size !== f.size)) return undefined; // changed behind our back
    }
    return record.ids;
  }

  async function lookup(guid: string): Promise<ImageIds | undefined> {
    return withSession((s, sftp) => lookupWith(s, sftp, guid));
  }

  async function register(req: RegisterRequest): Promise<ImageIds> {
    let form: InputForm;
    try {
      form = await detectInputForm(req.parts);
    } catch (err) {
      if (err instanceof InputFormError) throw fail(ErrorType.BadArchive, err.message, true);
      throw err;
    }
    // A bundle whose manifest points outside the install root is refused before anything runs.
    if (form.form === 'bundle') {
      const outside = pathsOutside(form.manifest, root);
      if (outside.length > 0) {
        throw fail(ErrorType.SiteRejected, `imgexport bundle refused: its manifest points outside the install root ${root}: ${outside.join(', ')}`, true);
      }
    }
    // Remote hashing and imgimport of a large image print nothing for a while: keep heartbeating.
    const ticker = setInterval(() => req.onProgress?.('working on the management node'), 10_000);
    const ids = await withSession(async (s, sftp) => {
      const existing = await lookupWith(s, sftp, req.guid);
      if (existing) return existing;
      return form.form === 'netboot' ? registerNetboot(s, sftp, req, form) : registerBundle(s, sftp, req, form.bundle, form.manifest);
    }).finally(() => clearInterval(ticker));
    if (config.provisionNodes.length > 0) {
      const answers = await provision(req.guid, config.provisionNodes);
      req.onProgress?.(`nodeset: ${Object.entries(answers).map(([n, a]) => `${n} ${a.ok ? 'ok' : 'failed'}: ${a.detail}`).join('; ')}`);
    }
    return ids;
  }

  /** Upload the files to the staging directory, verified; each lands at `<staging>/<name>`. */
  async function stage(s: SshSession, sftp: SFTPWrapper, req: RegisterRequest, files: { part: CachedPart; name: string }[]): Promise<string> {
    const { staging } = stateDirsOf(root, req.guid);
    await run(s, ['mkdir', '-p', '--', staging], 'creating the staging directory', { asUser: true });
    for (const { part, name } of files) {
      const outcome = await uploadVerified({
        session: s,
        sftp,
        localPath: part.path,
        size: part.size,
        hash: part.hash,
        remotePath: posix.join(staging, name),
        ...(config.uploadBytesPerSecond ? { bytesPerSecond: config.uploadBytesPerSecond } : {}),
        onProgress: (p) => req.onProgress?.(JSON.stringify({ upload: name, done: p.done, total: p.total, resumedFrom: p.resumedFrom })),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      req.onProgress?.(JSON.stringify({ uploaded: name, sent: outcome.sent, resumedFrom: outcome.resumedFrom, alreadyThere: outcome.alreadyThere }));
    }
    return staging;
  }

  /** Run `steps`; on failure undo what was done in reverse order, remove the staging directory, rethrow. */
  async function transaction<T>(s: SshSession, staging: string, steps: (undo: Undo[]) => Promise<T>): Promise<T> {
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
      const retryable = err instanceof ApplicationFailure ? !err.nonRetryable : true;
      if (!retryable) await s.exec(['rm', '-rf', '--', staging], { asUser: true }).catch(() => undefined);
      if (problems.length > 0 && err instanceof Error) err.message += ` (and undoing it failed: ${problems.join('; ')})`;
      throw err;
    }
  }

  async function registerNetboot(
    s: SshSession,
    sftp: SFTPWrapper,
    req: RegisterRequest,
    form: Extract<InputForm, { form: 'netboot' }>,
  ): Promise<ImageIds> {
    const names = netbootNamesOf(req.guid, { osvers: config.osvers, osarch: config.osarch, profilePrefix: config.profilePrefix, installRoot: root });
    checkPathUnder(names.dir, root, 'image directory');
    const files = [
      { part: form.kernel, name: NETBOOT_KERNEL },
      { part: form.ramdisk, name: NETBOOT_INITRD },
      { part: form.rootimg, name: rootimgFileName(form.kind) },
    ];
    const ids: ImageIds = { FILESYSTEM: names.osimage, KERNEL: posix.join(names.dir, NETBOOT_KERNEL), RAMDISK: posix.join(names.dir, NETBOOT_INITRD) };
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
    const recordPath = stateDirsOf(root, req.guid).record;
    const previous = await readRecord(sftp, recordPath);
    const registeredAt = previous?.registeredAt ?? new Date().toISOString();

    const found = await lsdef(s, names.osimage);
    if (found.kind === 'exists') {
      // Identical (same directory, same bytes) is answered as is; anything else is not ours to touch.
      const same = found.attrs.rootimgdir === names.dir && (await filesMatch(s, sftp, names.dir, files));
      if (!same) throw fail(ErrorType.SiteRejected, `osimage ${names.osimage} already exists at the site and is not this image (rootimgdir=${found.attrs.rootimgdir ?? '?'})`, true);
      await ensureRecordsDir(s);
      await writeRecord(sftp, recordPath, record('complete', previous?.dirs ?? []));
      return ids;
    }
    for (const f of files) {
      const path = posix.join(names.dir, f.name);
      if ((await exists(sftp, path)) && !previous) throw fail(ErrorType.SiteRejected, `${path} exists at the site but no osimage uses it; refusing to overwrite`, true);
    }

    const staging = await stage(s, sftp, req, files);
    return transaction(s, staging, async (undo) => {
      const newDirs = await missingDirs(sftp, names.dir);
      const dirs = [...new Set([...(previous?.dirs ?? []), ...newDirs])];
      await ensureRecordsDir(s);
      await writeRecord(sftp, recordPath, record('pending', dirs));
      undo.push({ what: 'removing the record', run: () => removeFile(sftp, recordPath) });
      if (newDirs.length > 0) {
        await run(s, ['mkdir', '-p', '--', names.dir], `creating ${names.dir}`);
        undo.push({ what: `removing ${newDirs.join(', ')}`, run: async () => void (await s.exec(['rmdir', '--', ...[...newDirs].reverse()])) });
      }
      for (const f of files) {
        const to = posix.join(names.dir, f.name);
        await run(s, ['mv', '-f', '--', posix.join(staging, f.name), to], `moving ${f.name} into place`);
        undo.push({ what: `removing ${to}`, run: async () => void (await run(s, ['rm', '-f', '--', to], `removing ${to}`)) });
      }
      const mkdef = await s.exec([
        cmd.mkdef,
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
        if (!alreadyExists(mkdef, names.osimage) && (await lsdef(s, names.osimage).catch(() => undefined))?.kind === 'exists') {
          await s.exec([cmd.rmdef, '-t', 'osimage', '-o', names.osimage]);
        }
        throw commandFailure(mkdef, `mkdef ${names.osimage}`);
      }
      undo.push({ what: `rmdef ${names.osimage}`, run: () => rmdef(s, names.osimage) });
      await writeRecord(sftp, recordPath, record('complete', dirs));
      return ids;
    });
  }

  async function registerBundle(s: SshSession, sftp: SFTPWrapper, req: RegisterRequest, bundle: CachedPart, manifest: ImgexportManifest): Promise<ImageIds> {
    const name = manifest.imagename;
    const recordPath = stateDirsOf(root, req.guid).record;
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

    const found = await lsdef(s, name);
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
      if (!previous && (await exists(sftp, f))) throw fail(ErrorType.SiteRejected, `${f} exists at the site but no osimage uses it; imgimport would move it aside, refusing`, true);
    }

    const staging = await stage(s, sftp, req, [{ part: bundle, name: 'bundle.tgz' }]);
    return transaction(s, staging, async (undo) => {
      const newDirs: string[] = [];
      for (const f of manifest.imageFiles) for (const d of await missingDirs(sftp, posix.dirname(f))) if (!newDirs.includes(d)) newDirs.push(d);
      const dirs = [...new Set([...(previous?.dirs ?? []), ...newDirs])];
      await ensureRecordsDir(s);
      await writeRecord(sftp, recordPath, record('pending', dirs, new Map()));
      undo.push({ what: 'removing the record', run: () => removeFile(sftp, recordPath) });
      undo.push({
        what: 'removing the imported files',
        run: async () => {
          await run(s, ['rm', '-f', '--', ...manifest.imageFiles], 'removing the imported files');
          if (newDirs.length > 0) await s.exec(['rmdir', '--', ...[...newDirs].sort((a, b) => b.length - a.length)]);
        },
      });
      const result = await s.exec([cmd.imgimport, posix.join(staging, 'bundle.tgz')], { cwd: staging });
      const imported = importedImageName(result);
      if (imported !== name) {
        if ((await lsdef(s, name).catch(() => undefined))?.kind === 'exists') await s.exec([cmd.rmdef, '-t', 'osimage', '-o', name]);
        throw imported === undefined
          ? commandFailure(result, `imgimport of ${name}`)
          : fail(ErrorType.SiteRejected, `imgimport imported ${imported}, the manifest names ${name}`, true);
      }
      undo.push({ what: `rmdef ${name}`, run: () => rmdef(s, name) });
      await writeRecord(sftp, recordPath, record('complete', dirs, await sizesNow()));
      return ids;
    });
  }

  async function filesMatch(s: SshSession, sftp: SFTPWrapper, dir: string, files: { part: CachedPart; name: string }[]): Promise<boolean> {
    for (const f of files) {
      const path = posix.join(dir, f.name);
      if ((await remoteSize(sftp, path)) !== f.part.size) return false;
      if ((await remoteHash(s, path, f.part.hash.algorithm)) !== f.part.hash.hex) return false;
    }
    return true;
  }

  async function ensureRecordsDir(s: SshSession): Promise<void> {
    await run(s, ['mkdir', '-p', '--', stateDirsOf(root, 'x').recordsDir], 'creating the records directory', { asUser: true });
  }

  async function rmdef(s: SshSession, name: string): Promise<void> {
    const result = await s.exec([cmd.rmdef, '-t', 'osimage', '-o', name]);
    if (removedCount(result) < 1) throw commandFailure(result, `rmdef ${name}`, true);
  }

  async function deregister(guid: string): Promise<void> {
    await withSession(async (s, sftp) => {
      const dirs = stateDirsOf(root, guid);
      const record = await readRecord(sftp, dirs.record);
      let osimage = record?.osimage;
      let files = record?.files.map((f) => f.path) ?? [];
      let made = record?.dirs ?? [];
      if (!record) {
        // No record (lost, or registered by hand under our name): a netboot image in our directory.
        const names = netbootNamesOf(guid, { osvers: config.osvers, osarch: config.osarch, profilePrefix: config.profilePrefix, installRoot: root });
        const found = await lsdef(s, names.osimage);
        if (found.kind !== 'exists' || found.attrs.rootimgdir !== names.dir) return;
        osimage = names.osimage;
        files = (await listDir(sftp, names.dir)).map((f) => posix.join(names.dir, f));
        made = [names.dir];
      }
      if (osimage && (await lsdef(s, osimage)).kind === 'exists') await rmdef(s, osimage);
      for (const f of files) checkPathUnder(f, root, 'file');
      if (files.length > 0) await run(s, ['rm', '-f', '--', ...files], 'removing the image files');
      for (const d of [...made].sort((a, b) => b.length - a.length)) await s.exec(['rmdir', '--', checkPathUnder(d, root, 'directory')]);
      await removeFile(sftp, dirs.record);
      await removeFile(sftp, requestMarkPath(dirs.recordsDir, guid));
      await s.exec(['rm', '-rf', '--', dirs.staging], { asUser: true });
    });
  }

  async function provision(guid: string, nodes: readonly string[]): Promise<Record<string, { ok: boolean; detail: string }>> {
    for (const n of nodes) checkName(n, 'node name');
    return withSession(async (s, sftp) => {
      const record = await readRecord(sftp, stateDirsOf(root, guid).record);
      if (!record || record.state !== 'complete') throw fail(ErrorType.SiteRejected, `no osimage registered for ${guid}`, true);
      const result = await s.exec([cmd.nodeset, nodes.join(','), `osimage=${record.osimage}`]);
      if (failureKindOf(result) !== 'other') throw commandFailure(result, 'nodeset');
      return parseNodesetOutput(result, nodes);
    });
  }

  // The clean-up's capabilities (SiteBackend.listImages, markRequested, inUse).

  async function listImages(): Promise<RegisteredImage[]> {
    return withSession(async (_s, sftp) => {
      const { recordsDir } = stateDirsOf(root, 'x');
      const images: RegisteredImage[] = [];
      for (const entry of await listDirEntries(sftp, recordsDir)) {
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

  async function markRequested(guid: string, at: Date): Promise<void> {
    await withSession(async (_s, sftp) => {
      const dirs = stateDirsOf(root, guid);
      // Only an image ImageProxy holds here: never leave a mark without a record.
      const record = await readRecord(sftp, dirs.record);
      if (!record || record.state !== 'complete') return;
      await writeRequestMark(sftp, requestMarkPath(dirs.recordsDir, guid), at);
    });
  }

  async function inUse(guid: string): Promise<boolean> {
    return withSession(async (s, sftp) => {
      const record = await readRecord(sftp, stateDirsOf(root, guid).record);
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
        const usage = classifyNodeUsage(await s.exec([cmd.lsdef, ...nodesUsingArgs(value, attr)]), value, attr);
        if (usage.kind === 'error') {
          // Never "unused" on an error: the clean-up retries, and reports the image failed if it persists.
          const type = usage.failure === 'permission-denied' ? ErrorType.Misconfigured : ErrorType.SiteUnavailable;
          throw fail(type, `cannot tell which nodes use osimage ${osimage}: ${usage.message}`, usage.failure === 'permission-denied');
        }
        if (usage.kind === 'in-use') return true;
      }
      return false;
    });
  }

  return { type: XCAT_SITE_TYPE, site, lookup, register, deregister, provision, listImages, markRequested, inUse };
}

function listDirEntries(sftp: SFTPWrapper, dir: string): Promise<{ filename: string; attrs: { mtime: number } }[]> {
  return new Promise((resolve, reject) =>
    sftp.readdir(dir, (err, list) => {
      if (err) return (err as Error & { code?: number }).code === 2 ? resolve([]) : reject(new Error(`sftp ls ${dir}: ${err.message}`));
      resolve(list.filter((e) => e.filename !== '.' && e.filename !== '..'));
    }),
  );
}

function listDir(sftp: SFTPWrapper, dir: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    sftp.readdir(dir, (err, list) => {
      if (err) return (err as Error & { code?: number }).code === 2 ? resolve([]) : reject(new Error(`sftp ls ${dir}: ${err.message}`));
      resolve(list.map((e) => e.filename).filter((f) => f !== '.' && f !== '..'));
    }),
  );
}
