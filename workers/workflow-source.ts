/**
 * Where workers get the workflow code: the prebuilt bundle that `npm run build` writes
 * (dist/workflow-bundle.js) when running compiled code, else a bundle made from the sources at
 * start (development, tests), which takes seconds.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';

const here = dirname(fileURLToPath(import.meta.url));
/** Compiled code runs from dist/workers/*.js; sources from workers/*.ts. */
const compiled = import.meta.url.endsWith('.js');

/** The workflows' entry module, next to this file's tree (.ts in development, .js in dist/). */
export const WORKFLOWS_PATH = resolve(here, '..', 'workflows', compiled ? 'index.js' : 'index.ts');

/** The bundle `npm run build` writes, at the root of dist/. */
export const PREBUILT_BUNDLE_PATH = resolve(here, '..', 'workflow-bundle.js');

/** Bundle the workflow code from its sources, once, to share between workers. */
export async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

/** The prebuilt bundle when running compiled code and it exists, else a fresh bundle. */
export async function workflowBundleForWorkers(): Promise<WorkflowBundleOption> {
  if (compiled && existsSync(PREBUILT_BUNDLE_PATH)) return { codePath: PREBUILT_BUNDLE_PATH };
  return bundleWorkflows();
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
