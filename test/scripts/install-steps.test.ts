/**
 * scripts/install.sh in two steps: `--runtime-only` (what `npm run demo` runs) stops before the test
 * world (no apt-get, no moto); without it both steps run. Read from bash's own trace of a real run.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function traceOf(...args: string[]): { status: number | null; trace: string } {
  // install.sh would `npm ci` under this very test run when the lock or a dependency patch changed: refuse instead.
  const installed = statSync(resolve(ROOT, 'node_modules/.package-lock.json')).mtimeMs;
  const inputs = ['package-lock.json', ...readdirSync(resolve(ROOT, 'patches')).map((f) => `patches/${f}`)];
  const newer = inputs.filter((f) => statSync(resolve(ROOT, f)).mtimeMs > installed);
  if (newer.length > 0) throw new Error(`node_modules is older than ${newer.join(', ')}: run scripts/install.sh first`);
  const run = spawnSync('bash', ['-x', 'scripts/install.sh', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  return { status: run.status, trace: run.stderr };
}

describe('scripts/install.sh', () => {
  it('--runtime-only installs the runtime and never reaches the test world', () => {
    const { status, trace } = traceOf('--runtime-only');
    expect(status).toBe(0);
    expect(trace).toContain('.venv/bin/temporal'); // the runtime step ran
    expect(trace).not.toMatch(/DEBIAN_NEEDS|apt-get|moto_server/);
  });

  it('without options runs both steps (the test world is checked)', () => {
    const { status, trace } = traceOf();
    expect(status).toBe(0);
    expect(trace).toMatch(/DEBIAN_NEEDS=/);
    expect(trace).toContain('moto_server');
  });

  it('refuses an unknown option with the usage and exit 64', () => {
    const { status, trace } = traceOf('--what');
    expect(status).toBe(64);
    expect(trace).toContain('usage: scripts/install.sh [--runtime-only]');
  });

  it('npm run demo installs the runtime step only; npm test installs everything', () => {
    const scripts = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toMatch(/scripts\/install\.sh --runtime-only/);
    expect(scripts.test).toMatch(/scripts\/install\.sh(?! --runtime-only)/);
  });
});
