/** The drift report from listed runs: which sites lack an image they were given (pure, no Temporal). */
import { describe, expect, it } from 'vitest';
import type { ListedRun } from '../../client/client-types.js';
import { missingFromSites } from '../../client/run-listing.js';

const G1 = '1'.repeat(40);
const G2 = '2'.repeat(40);

function run(type: string, guid: string, site: string, status: string, minute: number): ListedRun {
  return { type, guid, site, stage: undefined, status, workflowId: `${type}/${site}/${guid}`, runId: `r${minute}`, startTime: new Date(Date.UTC(2026, 0, 1, 0, minute)) };
}

describe('missingFromSites', () => {
  it('a site holds a GUID when its latest registration or deregistration of it is a completed registration', () => {
    const runs = [
      run('registerImage', G1, 'a', 'COMPLETED', 1),
      run('registerImage', G1, 'b', 'COMPLETED', 1),
      run('deregisterImage', G1, 'b', 'COMPLETED', 2), // removed since
      run('registerImage', G1, 'c', 'COMPLETED', 1),
      run('registerImage', G1, 'c', 'FAILED', 3), // a later failed attempt: not held any more
    ];
    expect(missingFromSites(runs, ['a', 'b', 'c', 'd'])).toEqual([{ guid: G1, present: ['a'], missing: ['b', 'c', 'd'] }]);
  });

  it('reports only GUIDs that completed somewhere, sorted', () => {
    const runs = [
      run('registerImage', G2, 'a', 'COMPLETED', 1),
      run('registerImage', G1, 'a', 'COMPLETED', 1),
      run('registerImage', '3'.repeat(40), 'a', 'FAILED', 1), // never an image anywhere: not drift
      run('registerImage', 'not-a-guid', 'a', 'COMPLETED', 1),
    ];
    expect(missingFromSites(runs, ['a', 'b']).map((r) => [r.guid, r.missing])).toEqual([
      [G1, ['b']],
      [G2, ['b']],
    ]);
  });
});
