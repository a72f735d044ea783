/** The checkout this code runs from: workers/*.ts in development, dist/workers/*.js once built. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function projectRootAbove(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) return resolve(dir, '..');
  }
}

/** The nearest folder above this file with a package.json (the project's root, not dist/). */
export const PROJECT_ROOT = projectRootAbove(dirname(fileURLToPath(import.meta.url)));
