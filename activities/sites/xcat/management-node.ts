/**
 * The management node of one `xcat` site as the site's operations see it: an SSH session with
 * SFTP, the commands they run (lsdef, rmdef, mkdir …) and the failures they throw, each saying
 * whether it may pass (xcatd down, a dropped connection) or is the site's answer.
 */
import { posix } from 'node:path';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { ErrorType, ImageProxyError } from '../../../common/errors.js';
import type { CachedPart } from '../../../common/image-types.js';
import { InputFormError } from './detect-input-form.js';
import { parseHostKeyPin } from './host-key-pin.js';
import { stateDirsOf } from './osimage-naming.js';
import { checkName, RemoteValueError } from './remote-values.js';
import { remoteHash, remoteSize, RemoteHashMismatchError } from './sftp-upload.js';
import { HostKeyMismatchError, SshAuthError, SshSession, type SshTarget } from './ssh-session.js';
import type { XcatSiteConfig } from './xcat-site-options.js';
import { classifyLsdef, describeFailure, failureKindOf, removedCount, type CommandResult } from './xcat-output.js';

export interface ManagementNode {
  site: string;
  config: XcatSiteConfig;
  /** The install root (`installRoot`): everything ImageProxy makes lives below it. */
  root: string;
  /** The failure to throw, its message prefixed with the site. */
  fail(type: ErrorType, message: string, nonRetryable: boolean): ImageProxyError;
  /** A command's failure as the failure to throw: xcatd down may pass, the rest is the site's answer. */
  commandFailure(result: CommandResult, doing: string, retryOther?: boolean): ImageProxyError;
  /** Run `fn` in a fresh session; errors become the site's failures. */
  withSession<T>(fn: (s: SshSession, sftp: SFTPWrapper) => Promise<T>): Promise<T>;
  lsdef(s: SshSession, name: string): Promise<Exclude<ReturnType<typeof classifyLsdef>, { kind: 'error' }>>;
  /** Run as the configured user (or root through sudo); a failure throws with the command's output. */
  run(s: SshSession, argv: string[], doing: string, opts?: { asUser?: boolean; cwd?: string }): Promise<CommandResult>;
  rmdef(s: SshSession, name: string): Promise<void>;
  exists(sftp: SFTPWrapper, path: string): Promise<boolean>;
  /** The ancestors of `dir` below the install root that do not exist yet, shallowest first. */
  missingDirs(sftp: SFTPWrapper, dir: string): Promise<string[]>;
  ensureRecordsDir(s: SshSession): Promise<void>;
  /** Whether each file is at `dir/<name>` with the part's size and hash. */
  filesMatch(s: SshSession, sftp: SFTPWrapper, dir: string, files: { part: CachedPart; name: string }[]): Promise<boolean>;
}

export function connectManagementNode(site: string, config: XcatSiteConfig, privateKey: Buffer, passphrase?: string): ManagementNode {
  // A key that cannot be read (or a wrong passphrase) is a configuration error, found at start.
  const parsedKey = ssh2.utils.parseKey(privateKey, passphrase);
  if (parsedKey instanceof Error) {
    const which = passphrase === undefined ? 'privateKeyPath' : 'privateKeyPath or privateKeyPassphraseFile';
    throw new Error(`xcat site ${site}: ${which}: ${parsedKey.message}`);
  }
  const target: SshTarget = {
    host: config.host,
    port: config.port,
    username: config.user,
    privateKey,
    ...(passphrase !== undefined ? { passphrase } : {}),
    hostKey: parseHostKeyPin(config.hostKey),
    sudo: config.sudo,
    readyTimeoutMs: config.connectTimeoutMs,
  };
  const root = config.installRoot;
  const cmd = config.commands;

  const fail = (type: ErrorType, message: string, nonRetryable: boolean): ImageProxyError =>
    new ImageProxyError({ type, nonRetryable, message: `xcat site ${site}: ${message}` });

  const commandFailure = (result: CommandResult, doing: string, retryOther = false): ImageProxyError => {
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
      if (err instanceof ImageProxyError) throw err;
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

  async function run(s: SshSession, argv: string[], doing: string, opts: { asUser?: boolean; cwd?: string } = {}): Promise<CommandResult> {
    const result = await s.exec(argv, opts);
    if (result.code !== 0) throw commandFailure(result, doing, true);
    return result;
  }

  async function exists(sftp: SFTPWrapper, path: string): Promise<boolean> {
    return (await remoteSize(sftp, path)) !== undefined;
  }

  async function missingDirs(sftp: SFTPWrapper, dir: string): Promise<string[]> {
    const missing: string[] = [];
    for (let d = dir; d !== root && d.startsWith(`${root}/`); d = posix.dirname(d)) {
      if (await exists(sftp, d)) break;
      missing.unshift(d);
    }
    return missing;
  }

  async function ensureRecordsDir(s: SshSession): Promise<void> {
    await run(s, ['mkdir', '-p', '--', stateDirsOf(root, 'x').recordsDir], 'creating the records directory', { asUser: true });
  }

  async function rmdef(s: SshSession, name: string): Promise<void> {
    const result = await s.exec([cmd.rmdef, '-t', 'osimage', '-o', name]);
    if (removedCount(result) < 1) throw commandFailure(result, `rmdef ${name}`, true);
  }

  async function filesMatch(s: SshSession, sftp: SFTPWrapper, dir: string, files: { part: CachedPart; name: string }[]): Promise<boolean> {
    for (const f of files) {
      const path = posix.join(dir, f.name);
      if ((await remoteSize(sftp, path)) !== f.part.size) return false;
      if ((await remoteHash(s, path, f.part.hash.algorithm)) !== f.part.hash.hex) return false;
    }
    return true;
  }

  return { site, config, root, fail, commandFailure, withSession, lsdef, run, rmdef, exists, missingDirs, ensureRecordsDir, filesMatch };
}
