/**
 * `npm run build`, second step: the prebuilt workflow bundle (dist/workflow-bundle.js) that
 * compiled workers load with `workflowBundle: { codePath }` instead of bundling at every start.
 */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflows, PREBUILT_BUNDLE_PATH } from '../workers/workflow-source.js';

const { code } = await bundleWorkflows();
await writeFile(PREBUILT_BUNDLE_PATH, code);
console.error(`workflow bundle: ${PREBUILT_BUNDLE_PATH} (${(code.length / 2 ** 20).toFixed(1)} MiB)`);
