/**
 * A real OpenStack Glance API (Debian `glance-api`) on a free loopback port, as a plain foreground
 * process with its own config directory: file store, SQLite, one process (`workers = 0`). Without
 * `keystone` it runs with no auth (`[paste_deploy] flavor =` empty); with it, Keystone tokens are
 * checked (`flavor = keystone`; `token_cache_time` as the test asks).
 *
 * `glance-manage db_sync` takes a while, so its database is made once per machine and copied.
 */
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, startProcess, type Running } from './child-process.js';
import { freePort } from './bittorrent-peers.js';

export interface GlanceKeystone {
  /** Keystone's public URL, e.g. `http://127.0.0.1:5000/v3`. */
  authUrl: string;
  /**
   * Seconds Glance trusts a token it has validated (`token_cache_time`); -1 asks Keystone on every
   * request, which costs seconds each on a loaded machine. An expired token is refused either way.
   */
  tokenCacheSeconds?: number;
  /** The service user Glance validates tokens with. */
  serviceUser: string;
  servicePassword: string;
  serviceProject: string;
}

export interface GlanceServer {
  /** `http://127.0.0.1:<port>` (the Image API is under `/v2`). */
  url: string;
  dir: string;
  /** Stop the process (the data stays), e.g. to see a site that is down. */
  stop(): Promise<void>;
  /** Start it again on the same port with the same data. */
  start(): Promise<void>;
  output(): string;
}

const PASTE_INI = '/usr/share/glance-common/glance-api-paste.ini';

export function glanceApiInstalled(): boolean {
  return existsSync('/usr/bin/glance-api') && existsSync('/usr/bin/glance-manage');
}

export async function startGlanceServer(dir: string, opts: { keystone?: GlanceKeystone } = {}): Promise<GlanceServer> {
  if (!glanceApiInstalled()) throw new Error('glance-api is not installed: run scripts/install.sh (Debian glance-api)');
  await mkdir(dir, { recursive: true });
  for (const sub of ['images', 'staging', 'tasks', 'lock']) await mkdir(join(dir, sub), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'glance-api.conf');
  await writeFile(config, glanceApiConf(dir, port, opts.keystone));
  await copyFile(await syncedDatabase(), join(dir, 'glance.sqlite'));

  let running: Running | undefined;
  const server: GlanceServer = {
    url,
    dir,
    output: () => running?.output() ?? '',
    async start() {
      running = startProcess('glance-api', ['--config-file', config], { cwd: dir });
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (running.child.exitCode !== null) throw new Error(`glance-api exited at start:\n${running.output().slice(-3000)}`);
        const ok = await fetch(`${url}/versions`).then((r) => r.ok, () => false);
        if (ok) return;
        if (Date.now() > deadline) {
          await running.stop('SIGKILL');
          throw new Error(`glance-api did not answer on ${url} within 60 s:\n${running.output().slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await running?.stop('SIGTERM');
    },
  };
  await server.start();
  return server;
}

function glanceApiConf(dir: string, port: number, keystone: GlanceKeystone | undefined): string {
  const lines = [
    '[DEFAULT]',
    'bind_host = 127.0.0.1',
    `bind_port = ${port}`,
    'workers = 0',
    `worker_self_reference_url = http://127.0.0.1:${port}`,
    'enabled_backends = file:file',
    'enabled_import_methods = [glance-direct]',
    'use_stderr = true',
    'debug = false',
    '[glance_store]',
    'default_backend = file',
    '[file]',
    `filesystem_store_datadir = ${join(dir, 'images')}`,
    '[os_glance_staging_store]',
    `filesystem_store_datadir = ${join(dir, 'staging')}`,
    '[os_glance_tasks_store]',
    `filesystem_store_datadir = ${join(dir, 'tasks')}`,
    '[database]',
    `connection = sqlite:///${join(dir, 'glance.sqlite')}`,
    '[oslo_concurrency]',
    `lock_path = ${join(dir, 'lock')}`,
    '[paste_deploy]',
    `config_file = ${PASTE_INI}`,
    `flavor = ${keystone ? 'keystone' : ''}`,
  ];
  if (keystone) {
    const base = keystone.authUrl.replace(/\/v3\/?$/, '');
    lines.push(
      '[keystone_authtoken]',
      `www_authenticate_uri = ${base}`,
      `auth_url = ${base}`,
      'auth_type = password',
      `username = ${keystone.serviceUser}`,
      `password = ${keystone.servicePassword}`,
      `project_name = ${keystone.serviceProject}`,
      'user_domain_name = Default',
      'project_domain_name = Default',
      `token_cache_time = ${keystone.tokenCacheSeconds ?? -1}`,
      'service_token_roles_required = false',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A database after `glance-manage db_sync`, made once per machine (migrations take ~10 s). */
async function syncedDatabase(): Promise<string> {
  const version = (await runProcess('dpkg-query', ['-W', '-f=${Version}', 'glance-common'])).stdout.trim().replace(/[^A-Za-z0-9.]/g, '_');
  const template = join(tmpdir(), `imageproxy-glance-db-${version}-${process.getuid?.() ?? 0}.sqlite`);
  if (existsSync(template)) return template;
  const work = join(tmpdir(), `imageproxy-glance-db-${process.pid}-${Date.now()}`);
  await mkdir(work, { recursive: true });
  try {
    const conf = join(work, 'glance-manage.conf');
    await writeFile(conf, `[database]\nconnection = sqlite:///${join(work, 'glance.sqlite')}\n[DEFAULT]\nuse_stderr = true\n`);
    const run = await runProcess('glance-manage', ['--config-file', conf, 'db_sync'], { cwd: work });
    if (run.code !== 0) throw new Error(`glance-manage db_sync failed (${run.code}):\n${(run.stderr + run.stdout).slice(-3000)}`);
    await rename(join(work, 'glance.sqlite'), template); // atomic: a parallel test file sees all or nothing
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return template;
}
