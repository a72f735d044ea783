/**
 * The Transport conformance suite against every transport: each `*-harness.ts` under
 * test/activities/transports/ is found here by name, so a new transport joins by adding its harness.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeTransportConformance, type TransportHarnessFactory } from './transport-conformance.js';

const here = dirname(fileURLToPath(import.meta.url));
const harnessFiles = readdirSync(here, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('-harness.ts'))
  .map((f) => join(here, f))
  .sort();

for (const file of harnessFiles) {
  const { default: harness } = (await import(pathToFileURL(file).href)) as { default: TransportHarnessFactory };
  describeTransportConformance(harness);
}
