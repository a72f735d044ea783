import { expect } from 'vitest';
import type { CollectGarbageResult } from '../../common/clean-up-contract.js';
import { CLI, runProcess } from './child-process.js';
import type { World } from './image-proxy-world.js';

/** `imageproxy gc --site SITE --json ARGS…` in its own process against `world`; it must succeed quietly. */
export async function gcCli(world: World, site: string, ...args: string[]): Promise<CollectGarbageResult> {
  const out = await runProcess('node', [CLI, 'gc', '--site', site, '--json', ...args], {
    env: { TEMPORAL_ADDRESS: world.address, IMAGEPROXY_DATA_DIR: world.dataDir },
  });
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout) as CollectGarbageResult;
}

/** A clean-up's outcomes as guid → action. */
export const actionsByGuid = (r: CollectGarbageResult): Record<string, string> => Object.fromEntries(r.outcomes.map((o) => [o.guid, o.action]));
