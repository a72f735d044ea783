/**
 * A real OpenStack Keystone (Debian `keystone`) under `uwsgi` on a free loopback port: SQLite in
 * WAL mode (else creating endpoints fails with "database is locked"), fernet tokens, `Connection: close` on every answer (else clients see resets).
 * After `bootstrap`, the test world adds what a Glance site needs through the real API: a service
 * user for Glance, a project with a user for ImageProxy, and the image endpoint once Glance runs.
 * Tokens live an hour (below two minutes Glance's own service token would be renewed on every
 * request); a test that needs a token to expire soon takes it from an application credential with
 * an `expires_at`, which caps the tokens issued through it.
 *
 * `keystone-manage db_sync` takes a while, so its database is made once per machine and copied.
 */
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './bittorrent-peers.js';
import { runProcess, startProcess, type Running } from './child-process.js';

export interface KeystoneServer {
  /** `http://127.0.0.1:<port>/v3`. */
  authUrl: string;
  adminPassword: string;
  /** Seconds a token lives (`[token] expiration`). */
  tokenLifetimeSeconds: number;
  /** A token of the bootstrap admin (project admin), for the test's own API calls. */
  adminToken(): Promise<string>;
  /** Create a project, a user with the `member` (and `reader`) role on it; answers their ids. */
  createProjectUser(name: string, password: string, roles?: string[]): Promise<{ projectId: string; userId: string }>;
  /** An application credential of a user (authenticated by password on its project). */
  createApplicationCredential(user: string, password: string, project: string, expiresAt?: Date): Promise<{ id: string; secret: string }>;
  /** A token issued through an application credential (it expires no later than the credential). */
  issueApplicationCredentialToken(id: string, secret: string): Promise<string>;
  /** Register the image service at `url` in the catalog (public and internal). */
  addImageEndpoint(url: string): Promise<void>;
  /** A token of `user` on `project` (password auth), as `openstack token issue` would give. */
  issueToken(user: string, password: string, project: string): Promise<string>;
  revokeToken(token: string): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export function keystoneInstalled(): boolean {
  return existsSync('/usr/bin/keystone-manage') && existsSync('/usr/bin/keystone-wsgi-public') && existsSync('/usr/bin/uwsgi');
}

export async function startKeystoneServer(dir: string, opts: { tokenLifetimeSeconds?: number } = {}): Promise<KeystoneServer> {
  if (!keystoneInstalled()) throw new Error('keystone/uwsgi are not installed: run scripts/install.sh (Debian keystone, uwsgi, uwsgi-plugin-python3)');
  const tokenLifetimeSeconds = opts.tokenLifetimeSeconds ?? 3600;
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const authUrl = `${base}/v3`;
  const conf = join(dir, 'keystone.conf');
  await writeFile(
    conf,
    [
      '[DEFAULT]',
      'use_stderr = true',
      '[database]',
      `connection = sqlite:///${join(dir, 'keystone.sqlite')}`,
      '[token]',
      'provider = fernet',
      `expiration = ${tokenLifetimeSeconds}`,
      '[fernet_tokens]',
      `key_repository = ${join(dir, 'fernet-keys')}`,
      '[fernet_receipts]',
      `key_repository = ${join(dir, 'fernet-keys')}`,
      '[credential]',
      `key_repository = ${join(dir, 'credential-keys')}`,
      '[cache]',
      'enabled = false',
      '[identity]',
      'password_hash_rounds = 4',
      '',
    ].join('\n'),
  );
  await copyFile(await preparedDatabase(), join(dir, 'keystone.sqlite'));
  // What `keystone-manage fernet_setup` / `credential_setup` write (a primary and a staged key),
  // made here: each keystone-manage run costs seconds of Python start-up.
  await writeKeyRepositories(dir);
  const adminPassword = TEMPLATE_ADMIN_PASSWORD;

  const running: Running = startProcess(
    'uwsgi',
    [
      '--plugins', 'python3',
      '--http-socket', `127.0.0.1:${port}`,
      '--wsgi-file', '/usr/bin/keystone-wsgi-public',
      '--master', '--die-on-term', '--processes', '1', '--threads', '4', '--enable-threads', '--lazy-apps',
      '--buffer-size', '65535',
      '--add-header', 'Connection: close',
      '--env', `OS_KEYSTONE_CONFIG_FILES=${conf}`,
    ],
    { cwd: dir },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (running.child.exitCode !== null) throw new Error(`uwsgi (keystone) exited at start:\n${running.output().slice(-3000)}`);
    if (await fetch(authUrl).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      await running.stop('SIGKILL');
      throw new Error(`keystone did not answer on ${authUrl} within 60 s:\n${running.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }

  let admin: { token: string; at: number } | undefined;
  /** An admin API call; a 401 (the cached admin token expired under load) is retried once with a new token. */
  const api = async (userToken: string | undefined, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${authUrl}${path}`, {
        method,
        headers: { 'X-Auth-Token': userToken ?? (await adminToken()), ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      if (response.status === 401 && attempt === 0 && !userToken) {
        admin = undefined;
        continue;
      }
      if (!response.ok) throw new Error(`keystone ${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    }
  };
  const issueToken = async (user: string, password: string, project: string): Promise<string> => {
    const response = await fetch(`${authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      }),
    });
    await response.text();
    const token = response.headers.get('x-subject-token');
    if (!response.ok || !token) throw new Error(`keystone refused a token for ${user}: ${response.status}`);
    return token;
  };
  const adminToken = async (): Promise<string> => {
    if (!admin || Date.now() - admin.at > (tokenLifetimeSeconds * 1000) / 2) admin = { token: await issueToken('admin', adminPassword, 'admin'), at: Date.now() };
    return admin.token;
  };
  const idOf = async (collection: string, name: string): Promise<string> => {
    const found = (await api(undefined, 'GET', `/${collection}?name=${encodeURIComponent(name)}`))[collection] as { id: string }[];
    if (!found[0]) throw new Error(`keystone has no ${collection} named ${name}`);
    return found[0].id;
  };

  const addEndpoints = async (type: string, name: string, url: string): Promise<void> => {
    const service = (await api(undefined, 'POST', '/services', { service: { type, name } })).service as { id: string };
    for (const iface of ['public', 'internal']) {
      await api(undefined, 'POST', '/endpoints', { endpoint: { service_id: service.id, interface: iface, url, region_id: 'RegionOne' } });
    }
  };
  // The template was bootstrapped without URLs (they name this run's port); Glance's auth
  // middleware finds Keystone through the catalog.
  await addEndpoints('identity', 'keystone', authUrl);

  return {
    authUrl,
    adminPassword,
    tokenLifetimeSeconds,
    adminToken,
    issueToken,
    output: () => running.output(),
    async createProjectUser(name, password, roles = ['member', 'reader']) {
      const project = (await api(undefined, 'POST', '/projects', { project: { name, domain_id: 'default' } })).project as { id: string };
      const user = (await api(undefined, 'POST', '/users', { user: { name, password, domain_id: 'default', default_project_id: project.id } })).user as { id: string };
      for (const role of roles) {
        await api(undefined, 'PUT', `/projects/${project.id}/users/${user.id}/roles/${await idOf('roles', role)}`);
      }
      return { projectId: project.id, userId: user.id };
    },
    async issueApplicationCredentialToken(id, secret) {
      const response = await fetch(`${authUrl}/auth/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } }),
      });
      await response.text();
      const token = response.headers.get('x-subject-token');
      if (!response.ok || !token) throw new Error(`keystone refused a token for application credential ${id}: ${response.status}`);
      return token;
    },
    async createApplicationCredential(user, password, project, expiresAt) {
      const token = await issueToken(user, password, project);
      const id = await idOf('users', user);
      const made = (await api(token, 'POST', `/users/${id}/application_credentials`, {
        application_credential: { name: `ac-${Date.now()}`, ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}) },
      }))
        .application_credential as { id: string; secret: string };
      return { id: made.id, secret: made.secret };
    },
    addImageEndpoint: (url) => addEndpoints('image', 'glance', url),
    async revokeToken(token) {
      const admin = await adminToken();
      const response = await fetch(`${authUrl}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': admin, 'X-Subject-Token': token } });
      if (!response.ok) throw new Error(`keystone did not revoke the token: ${response.status}`);
    },
    async stop() {
      await running.stop('SIGTERM');
    },
  };
}

const TEMPLATE_ADMIN_PASSWORD = 'imageproxy-test-admin';

/**
 * A database after `keystone-manage db_sync` and `bootstrap` (admin user and project, the admin,
 * member and reader roles, RegionOne; no endpoints), in WAL mode, made once per machine.
 */
async function preparedDatabase(): Promise<string> {
  const version = (await runProcess('dpkg-query', ['-W', '-f=${Version}', 'keystone'])).stdout.trim().replace(/[^A-Za-z0-9.]/g, '_');
  const template = join(tmpdir(), `imageproxy-keystone-db-${version}-${process.getuid?.() ?? 0}.sqlite`);
  if (existsSync(template)) return template;
  const work = join(tmpdir(), `imageproxy-keystone-db-${process.pid}-${Date.now()}`);
  await mkdir(work, { recursive: true });
  try {
    const db = join(work, 'keystone.sqlite');
    const conf = join(work, 'keystone.conf');
    await writeKeyRepositories(work);
    await writeFile(
      conf,
      `[DEFAULT]\nuse_stderr = true\n[database]\nconnection = sqlite:///${db}\n[identity]\npassword_hash_rounds = 4\n` +
        `[fernet_tokens]\nkey_repository = ${join(work, 'fernet-keys')}\n[fernet_receipts]\nkey_repository = ${join(work, 'fernet-keys')}\n[credential]\nkey_repository = ${join(work, 'credential-keys')}\n`,
    );
    for (const args of [['db_sync'], ['bootstrap', '--bootstrap-password', TEMPLATE_ADMIN_PASSWORD, '--bootstrap-region-id', 'RegionOne']]) {
      const run = await runProcess('keystone-manage', ['--config-file', conf, ...args], { cwd: work });
      if (run.code !== 0) throw new Error(`keystone-manage ${args[0]} failed (${run.code}):\n${(run.stderr + run.stdout).slice(-3000)}`);
    }
    const wal = await runProcess('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("PRAGMA journal_mode=WAL").fetchone()[0]); c.close()', db]);
    if (wal.code !== 0 || !wal.stdout.includes('wal')) throw new Error(`could not put keystone's SQLite in WAL mode: ${wal.stderr}`);
    await rename(db, template); // atomic: a parallel test file sees all or nothing
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return template;
}

/** Fernet key repositories for tokens and credentials, as `fernet_setup`/`credential_setup` make them. */
async function writeKeyRepositories(dir: string): Promise<void> {
  for (const sub of ['fernet-keys', 'credential-keys']) {
    await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    for (const n of ['0', '1']) await writeFile(join(dir, sub, n), `${randomBytes(32).toString('base64url')}=`, { mode: 0o600 });
  }
}
