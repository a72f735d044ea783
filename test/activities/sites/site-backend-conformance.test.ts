/**
 * The SiteBackend conformance suite against every backend, each in its real world: one
 * `<backend>/<backend>-harness.ts` per backend, found here by name, so a new backend joins by
 * adding its harness file.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeSiteBackendConformance, type SiteBackendHarnessFactory } from './site-backend-conformance.js';

const here = dirname(fileURLToPath(import.meta.url));
const harnessFiles = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(here, d.name)).filter((f) => f === `${d.name}-harness.ts`).map((f) => join(here, d.name, f)))
  .sort();

for (const file of harnessFiles) {
  const { default: harness } = (await import(pathToFileURL(file).href)) as { default: SiteBackendHarnessFactory };
  describeSiteBackendConformance(harness);
}
