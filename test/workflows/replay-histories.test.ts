/**
 * Determinism guard: the workflow code of this commit replays the histories of real runs of every
 * workflow type (captured by scripts/capture-histories.ts, in `temporal workflow show -o json`
 * form). A change that would break a running workflow (a command added, removed or reordered
 * without `patched()`) fails here with a DeterminismViolationError naming the history.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../workers/logger.js';
import { installTemporalLogging } from '../../workers/temporal-logging.js';

installTemporalLogging(createLogger('warn')); // the replay workers' state changes are noise here

const HISTORIES = resolve('test/workflows/histories');
/** Every workflow type workflows/index.ts exports. */
const WORKFLOW_TYPES = ['registerImage', 'prefetchImage', 'distributeImage', 'deregisterImage', 'provisionNodes', 'collectGarbage'];

async function loadHistories(): Promise<{ workflowId: string; type: string; history: ReturnType<typeof historyFromJSON> }[]> {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const history = historyFromJSON(JSON.parse(await readFile(join(HISTORIES, file), 'utf8')));
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
      return { workflowId: file.replace(/\.json$/, ''), type, history };
    }),
  );
}

describe('workflow replay', () => {
  it('the committed histories cover every workflow type', async () => {
    const types = new Set((await loadHistories()).map((h) => h.type));
    expect([...types].sort()).toEqual([...WORKFLOW_TYPES].sort());
  });

  it('replays every committed history without a determinism error', async () => {
    const histories = await loadHistories();
    const workflowBundle = { code: await readFile(inject('workflowBundlePath'), 'utf8') };
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories.map(({ workflowId, history }) => ({ workflowId, history })))) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
