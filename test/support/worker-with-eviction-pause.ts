/**
 * Test-only worker entry (run with `node --import tsx`): the workers of `--site` as
 * `imageproxy worker` runs them, from the same environment (IMAGEPROXY_CONFIG, IMAGEPROXY_DATA_DIR,
 * IMAGEPROXY_HOST_ID, TEMPORAL_ADDRESS), except that right after the files of the first evicted
 * entry are removed it prints "eviction paused" and blocks for `--pause-ms`, so a crash test can
 * kill the process in the middle of an eviction.
 */
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dataDirFrom, hostIdFrom, loadConfig } from '../../config/load-config.js';
import { temporalSettings } from '../../client/temporal-connection.js';
import { startWorkers } from '../../workers/dev-environment.js';
import { createLogger } from '../../workers/logger.js';

const { values } = parseArgs({ options: { site: { type: 'string' }, 'pause-ms': { type: 'string' } } });
const pauseMs = Number(values['pause-ms']);
if (!values.site || !(pauseMs > 0)) throw new Error('usage: worker-with-eviction-pause.ts --site <name> --pause-ms <ms>');

const dataDir = dataDirFrom();
const configPath = resolve(process.env.IMAGEPROXY_CONFIG ?? join(dataDir, 'config.json'));
let paused = false;
const { workers, done } = await startWorkers({
  config: await loadConfig({ dataDir }),
  configDir: dirname(configPath),
  dataDir,
  hostId: hostIdFrom(),
  logger: createLogger(),
  settings: temporalSettings(),
  sites: [values.site],
  onEvicting: (victim) => {
    if (paused) return;
    paused = true;
    console.error(`eviction paused after removing ${victim}`);
    // Blocks the whole process, as a crash in the middle of the synchronous eviction would leave it.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pauseMs);
  },
});
console.error(`serving sites ${workers.map((w) => w.site).join(', ')}`);
await done;
