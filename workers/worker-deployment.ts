/**
 * Worker Deployment Versioning: every worker process announces a version (deployment name +
 * build id) and new work goes to the deployment's current version. The build id is the package
 * version and the commit, so two builds of different code never share one.
 *
 * Default behaviour AUTO_UPGRADE (docs/production.md says why): a run moves to the current version
 * at its next workflow task, so an old worker can stop as soon as its running activities end;
 * changes to workflow code go behind `patched()` and the replay tests guard determinism.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { PROJECT_ROOT } from './project-root.js';


export const DEFAULT_DEPLOYMENT_NAME = 'imageproxy';

export interface WorkerDeployment {
  deploymentName: string;
  buildId: string;
}

/**
 * The version of this code: `IMAGEPROXY_BUILD_ID`, else the `BUILD_ID` file a build writes at the
 * project root, else `<package version>+<git commit>` (with `-dirty` for uncommitted changes).
 */
export function workerDeployment(env: NodeJS.ProcessEnv = process.env): WorkerDeployment {
  const deploymentName = env.IMAGEPROXY_DEPLOYMENT_NAME || DEFAULT_DEPLOYMENT_NAME;
  if (env.IMAGEPROXY_BUILD_ID) return { deploymentName, buildId: env.IMAGEPROXY_BUILD_ID };
  const file = join(PROJECT_ROOT, 'BUILD_ID');
  if (existsSync(file)) return { deploymentName, buildId: readFileSync(file, 'utf8').trim() };
  return { deploymentName, buildId: computeBuildId() };
}

/** `<package version>+<commit>`; what a build writes into `BUILD_ID`. */
export function computeBuildId(): string {
  const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `${version}+${gitCommit() ?? 'unknown'}`;
}

function gitCommit(): string | undefined {
  try {
    const git = (args: string[]): string => execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short=12', 'HEAD']);
    // Workflow code differs from the commit's when the tree is dirty: give it a build id of its own.
    const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'workflows', 'common']) !== '';
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return undefined;
  }
}

export function deploymentOptions(d: WorkerDeployment): WorkerDeploymentOptions {
  return {
    version: { deploymentName: d.deploymentName, buildId: d.buildId },
    useWorkerVersioning: true,
    defaultVersioningBehavior: 'AUTO_UPGRADE',
  };
}

/**
 * Make `d` the deployment's current version once its workers poll (the server knows a version
 * only then). `imageproxy dev` does this for the server it owns; on a cluster the operator does it
 * with `temporal worker deployment set-current-version`.
 */
export async function makeCurrentWhenPolled(client: Client, d: WorkerDeployment, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName: d.deploymentName,
        buildId: d.buildId,
        identity: client.options.identity,
        ignoreMissingTaskQueues: true,
      });
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`cannot make ${d.deploymentName} ${d.buildId} the current version: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/**
 * The first version ever of a deployment becomes current by itself, so a first install needs no
 * roll-out step; once a version is current, only the operator changes it. Waits until the version
 * is known (its workers poll). Two first workers racing: the conflict token lets one win.
 */
export async function makeCurrentIfNone(client: Client, d: WorkerDeployment, timeoutMs = 60_000): Promise<'made-current' | 'has-current'> {
  const deadline = Date.now() + timeoutMs;
  const { namespace, identity } = client.options;
  for (;;) {
    try {
      const described = await client.workflowService
        .describeWorkerDeployment({ namespace, deploymentName: d.deploymentName })
        .catch(() => undefined); // not found until the first worker polls
      const routing = described?.workerDeploymentInfo?.routingConfig;
      if (routing?.currentDeploymentVersion?.buildId) return 'has-current';
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: d.deploymentName,
        buildId: d.buildId,
        identity,
        ignoreMissingTaskQueues: true,
        ...(described?.conflictToken ? { conflictToken: described.conflictToken } : {}),
      });
      return 'made-current';
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot check the current version of ${d.deploymentName}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
