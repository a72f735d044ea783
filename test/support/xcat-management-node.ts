/**
 * A stand-in xCAT management node for tests: Debian's real OpenSSH server on a free loopback port,
 * with its own config, host key and authorized_keys, running the stand-in xCAT commands of
 * `xcat-standins/` (state on disk, argv logged, failures on request). The "install root" is a
 * local directory, so tests check the placed files directly.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
const STANDINS = resolve(dirname(fileURLToPath(import.meta.url)), 'xcat-standins');
const COMMANDS = ['lsdef', 'mkdef', 'chdef', 'rmdef', 'imgimport', 'packimage', 'nodeset'] as const;

export interface ArgvLogEntry {
  cmd: string;
  argv: string[];
  cwd: string;
  stdin_open: number;
}

export class XcatManagementNode {
  dir = '';
  port = 0;
  /** `SHA256:…` of the host key. */
  fingerprint = '';
  /** `[127.0.0.1]:port ssh-ed25519 AAAA…` */
  knownHostsLine = '';
  installRoot = '';
  stateDir = '';
  clientKeyPath = '';
  readonly user = userInfo().username;
  /** What sshd wrote (its log, including internal-sftp's per-file byte counts). */
  log = '';
  private proc: ChildProcess | undefined;

  /** Start sshd. `installRoot` may be given (e.g. a path with shell metacharacters, under the test dir). */
  async start(opts: { installRootName?: string } = {}): Promise<this> {
    // (not newTestDir: bench/ uses this outside vitest)
    this.dir = resolve('.test-tmp', `xcat-mn-${randomBytes(4).toString('hex')}`);
    await mkdir(this.dir, { recursive: true });
    this.installRoot = join(this.dir, opts.installRootName ?? 'install');
    this.stateDir = join(this.dir, 'xcat-state');
    await mkdir(this.installRoot, { recursive: true });
    await mkdir(join(this.stateDir, 'fail'), { recursive: true });
    await mkdir(join(this.stateDir, 'nodes'), { recursive: true });
    const hostKey = join(this.dir, 'host_key');
    this.clientKeyPath = join(this.dir, 'client_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'xcat-mn-test', '-f', hostKey]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'imageproxy-test', '-f', this.clientKeyPath]);
    await writeFile(join(this.dir, 'authorized_keys'), await readFile(`${this.clientKeyPath}.pub`));
    this.fingerprint = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`])).stdout.split(' ')[1]!;
    this.port = await freePort();
    const pub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ');
    this.knownHostsLine = `[127.0.0.1]:${this.port} ${pub[0]} ${pub[1]}`;
    const config = join(this.dir, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PrintMotd no',
        'LogLevel VERBOSE',
        // Logs each file's bytes read/written (sftpLog): how a test sees that an upload resumed.
        `Subsystem sftp ${join(STANDINS, 'sftp-server-logged')}`,
        `SetEnv XCAT_STANDIN_STATE=${this.stateDir} XCAT_STANDIN_MN=mn`,
        '',
      ].join('\n'),
    );
    // Privilege separation directory, needed when sshd runs as root.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
    const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolveStart, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start: ${this.log}`)), 10_000);
      proc.stderr!.on('data', (d: Buffer) => {
        this.log += d.toString();
        if (this.log.includes('Server listening on')) {
          clearTimeout(timer);
          resolveStart();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code}: ${this.log}`));
      });
    });
    return this;
  }

  /** Site options for this node, as a config file would hold them. */
  siteConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      type: 'xcat',
      host: '127.0.0.1',
      port: this.port,
      user: this.user,
      privateKeyPath: this.clientKeyPath,
      hostKey: this.fingerprint,
      installRoot: this.installRoot,
      osvers: 'rhels8.6',
      osarch: 'x86_64',
      commands: Object.fromEntries(COMMANDS.map((c) => [c, join(STANDINS, c)])),
      ...extra,
    };
  }

  /** sftp-server's log: `open "PATH" flags …` and `close "PATH" bytes read R written W` per file. */
  async sftpLog(): Promise<string> {
    return readFile(join(this.stateDir, 'sftp.log'), 'utf8').catch(() => '');
  }

  async argvLog(): Promise<ArgvLogEntry[]> {
    const text = await readFile(join(this.stateDir, 'argv.log'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ArgvLogEntry);
  }

  /** Make `what` fail: 'xcatd-down', 'permission-denied', or a command name (with its error message). */
  async failWith(what: string, message = ''): Promise<void> {
    await writeFile(join(this.stateDir, 'fail', what), message);
  }

  async clearFailures(): Promise<void> {
    await rm(join(this.stateDir, 'fail'), { recursive: true, force: true });
    await mkdir(join(this.stateDir, 'fail'));
  }

  async osimages(): Promise<string[]> {
    return readdir(join(this.stateDir, 'osimage')).catch(() => []);
  }

  async osimage(name: string): Promise<Record<string, string> | undefined> {
    const text = await readFile(join(this.stateDir, 'osimage', name), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    return Object.fromEntries(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  async addNode(name: string): Promise<void> {
    await writeFile(join(this.stateDir, 'nodes', name), '');
  }

  /** Every file under the install root, relative, sorted (ImageProxy's own state dir included). */
  async filesUnderInstallRoot(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (d: string, rel: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          out.push(`${r}/`);
          await walk(join(d, e.name), r);
        } else out.push(r);
      }
    };
    await walk(this.installRoot, '');
    return out.sort();
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    if (!process.env.KEEP_TEST_DIRS) await rm(this.dir, { recursive: true, force: true });
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}
