/**
 * One SSH connection to the management node (ssh2): the host key pinned, commands run as quoted
 * argv with stdin closed and no pty (xCAT's wrappers wait on stdin otherwise), exit code, stdout
 * and stderr kept for the error message; and SFTP on the same connection.
 */
import ssh2, { type SFTPWrapper } from 'ssh2';

// ssh2 is CommonJS: Node's ESM loader gives its exports through the default import.
const { Client } = ssh2;
import { fingerprintOf, hostKeyMatches, type HostKeyPin } from './host-key-pin.js';
import { quoteCommand } from './shell-quote.js';
import type { CommandResult } from './xcat-output.js';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: Buffer;
  passphrase?: string;
  hostKey: HostKeyPin;
  /** Prefix every command with `sudo -n`. */
  sudo: boolean;
  readyTimeoutMs: number;
}

/** The server's host key is not the pinned one: nothing was sent, no retry will help. */
export class HostKeyMismatchError extends Error {
  override readonly name = 'HostKeyMismatchError';
}

/** The server refused the configured user and key. */
export class SshAuthError extends Error {
  override readonly name = 'SshAuthError';
}

/** The connection could not be made or broke (retryable). */
export class SshConnectError extends Error {
  override readonly name = 'SshConnectError';
}

/** Output kept per stream; more is cut (an error message needs the tail, not megabytes). */
const MAX_OUTPUT = 1 << 20;

export class SshSession {
  private constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly target: SshTarget,
  ) {}

  static open(target: SshTarget): Promise<SshSession> {
    const client = new Client();
    let presented: string | undefined;
    return new Promise<SshSession>((resolve, reject) => {
      client.once('ready', () => resolve(new SshSession(client, target)));
      client.once('error', (err: Error) => {
        client.end();
        if (presented !== undefined) {
          reject(new HostKeyMismatchError(`${target.host}:${target.port} presented host key ${presented}, which is not the pinned hostKey; refused before authenticating`));
        } else if (/authentication methods failed/i.test(err.message)) {
          reject(new SshAuthError(`${target.host}:${target.port}: ${target.username} was not let in with the configured private key`));
        } else {
          reject(new SshConnectError(`ssh ${target.host}:${target.port}: ${err.message}`));
        }
      });
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        ...(target.passphrase !== undefined ? { passphrase: target.passphrase } : {}),
        readyTimeout: target.readyTimeoutMs,
        hostVerifier: (key: Buffer): boolean => {
          if (hostKeyMatches(target.hostKey, key)) return true;
          presented = fingerprintOf(key);
          return false;
        },
      });
    });
  }

  /** Run `argv` (quoted; with `sudo -n` if configured; in `cwd` if given). Never throws on a non-zero exit. */
  exec(argv: readonly string[], opts: { cwd?: string; asUser?: boolean } = {}): Promise<CommandResult> {
    const full = this.target.sudo && !opts.asUser ? ['sudo', '-n', ...argv] : [...argv];
    const command = quoteCommand(full, opts.cwd !== undefined ? { cwd: opts.cwd } : {});
    return new Promise<CommandResult>((resolve, reject) => {
      this.client.exec(command, { pty: false }, (err, stream) => {
        if (err) return reject(new SshConnectError(`ssh exec ${argv[0]}: ${err.message}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let outLen = 0;
        let errLen = 0;
        let code: number | null = null;
        let signal: string | undefined;
        stream.on('data', (d: Buffer) => {
          if (outLen < MAX_OUTPUT) out.push(d);
          outLen += d.length;
        });
        stream.stderr.on('data', (d: Buffer) => {
          if (errLen < MAX_OUTPUT) errOut.push(d);
          errLen += d.length;
        });
        stream.on('exit', (c: number | null, s?: string) => {
          code = c;
          if (s) signal = s;
        });
        stream.on('close', () => {
          resolve({
            argv: full,
            code,
            ...(signal !== undefined ? { signal } : {}),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
        stream.end(); // stdin closed: EOF at once
      });
    });
  }

  sftp(): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) => (err ? reject(new SshConnectError(`sftp: ${err.message}`)) : resolve(sftp)));
    });
  }

  close(): void {
    this.client.end();
  }
}
