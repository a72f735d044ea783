/** A part held by a distribution is "still needed" (its torrent keeps seeding) until the distribution lets go. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostCache } from '../../../activities/cache/host-cache.js';
import { DISTRIBUTE_WORKFLOW_ID_PREFIX, distributeWorkflowId, registerWorkflowId } from '../../../common/naming.js';
import type { ContentHash } from '../../../common/image-types.js';
import { createLogger } from '../../../workers/logger.js';
import { newTestDir } from '../../support/image-proxy-world.js';

const part: ContentHash = { algorithm: 'sha1', hex: 'ab'.repeat(20) };
const guid = 'cd'.repeat(20);

describe('HostCache.heldBy', () => {
  it('answers true while a distribution holds the part, false once it released it or only a site run holds it', async () => {
    const dataDir = await newTestDir('held-by');
    const { cache } = await HostCache.open({ dir: join(dataDir, 'cache'), indexFile: join(dataDir, 'index.sqlite'), spaceWaitMs: 0, logger: createLogger('silent') });
    try {
      const siteRun = { workflowId: registerWorkflowId('s1', guid), runId: 'run-site' };
      const distribution = { workflowId: distributeWorkflowId(guid, ['s1', 's2']), runId: 'run-dist' };
      cache.hold(part, siteRun, guid);
      expect(cache.heldBy(part, DISTRIBUTE_WORKFLOW_ID_PREFIX)).toBe(false);
      cache.hold(part, distribution, guid);
      expect(cache.heldBy(part, DISTRIBUTE_WORKFLOW_ID_PREFIX)).toBe(true);
      cache.release(distribution.runId);
      expect(cache.heldBy(part, DISTRIBUTE_WORKFLOW_ID_PREFIX)).toBe(false);
    } finally {
      cache.close();
    }
  });
});
