/**
 * The compiled CLI loads only what a command uses: `--help` and `status` never load the worker
 * SDK (its native runtime, webpack) or the AWS SDK. Runs bin/imageproxy.js (dist/, built by the
 * global setup when stale) with a resolve hook that lists every module loaded.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runProcess } from '../../support/child-process.js';

const HOOK = resolve('test/support/record-imports.mjs');

async function modulesLoadedBy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; modules: string[]; stdout: string }> {
  const run = await runProcess('node', ['--import', HOOK, CLI, ...args], { env });
  const modules = run.stderr
    .split('\n')
    .filter((l) => l.startsWith('imported: '))
    .map((l) => l.slice('imported: '.length));
  return { code: run.code, modules, stdout: run.stdout };
}

const heavy = (modules: string[]): string[] => modules.filter((m) => /@temporalio\/worker|@temporalio\/core-bridge|@aws-sdk|webtorrent|better-sqlite3/.test(m));

describe('what each command loads', () => {
  it('--help runs the compiled code and loads neither the worker SDK nor the AWS SDK', async () => {
    const run = await modulesLoadedBy(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('register');
    expect(run.modules.some((m) => m.includes('/dist/client/cli/main.js'))).toBe(true);
    expect(run.modules.some((m) => m.includes('tsx'))).toBe(false);
    expect(heavy(run.modules)).toEqual([]);
  });

  it('status loads the Temporal client, not the worker SDK or the AWS SDK', async () => {
    // Nothing listens on port 1: status fails to connect, after loading all it needs.
    const run = await modulesLoadedBy(['status', 'a'.repeat(40)], { TEMPORAL_ADDRESS: '127.0.0.1:1', IMAGEPROXY_DATA_DIR: resolve('.test-tmp/lazy-loading') });
    expect(run.code).toBe(1);
    expect(run.modules.some((m) => m.includes('@temporalio/client'))).toBe(true);
    expect(heavy(run.modules)).toEqual([]);
  });
});
