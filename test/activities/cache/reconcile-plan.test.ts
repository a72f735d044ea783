import { describe, expect, it } from 'vitest';
import { planReconcile } from '../../../activities/cache/reconcile-plan.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const D = 'd'.repeat(40);

describe('planReconcile', () => {
  it('changes nothing when index and disk agree', () => {
    const plan = planReconcile(
      [
        { name: A, state: 'ready', size: 5, companionBytes: 20 },
        { name: B, state: 'downloading', size: 9, companionBytes: 0 },
      ],
      { files: new Map([[A, 5], [`${A}.raw`, 20]]), partials: new Map([[B, 3]]) },
    );
    expect(plan).toEqual({ removeFiles: [], dropEntries: [], markReady: [], companionBytes: [] });
  });

  it('removes orphans, drops entries without files, finishes evictions, adopts committed downloads', () => {
    const plan = planReconcile(
      [
        { name: A, state: 'ready', size: 5, companionBytes: 0 }, // file gone
        { name: B, state: 'downloading', size: 9, companionBytes: 0 }, // partial gone
        { name: C, state: 'evicting', size: 4, companionBytes: 0 }, // killed mid-eviction
        { name: D, state: 'downloading', size: 7, companionBytes: 0 }, // renamed, index not updated
      ],
      {
        files: new Map([[C, 4], [D, 7], ['e'.repeat(40), 1], [`${A}.raw`, 2], ['notes.txt', 1]]),
        partials: new Map([['f'.repeat(40), 8]]),
      },
    );
    expect(plan.dropEntries.sort()).toEqual([A, B, C].sort());
    expect(plan.markReady).toEqual([{ name: D, size: 7 }]);
    expect(plan.removeFiles.sort()).toEqual([C, 'e'.repeat(40), `${A}.raw`, `.partial/${'f'.repeat(40)}`].sort());
  });

  it('never keeps a ready entry whose file has another size', () => {
    const plan = planReconcile([{ name: A, state: 'ready', size: 5, companionBytes: 0 }], { files: new Map([[A, 4]]), partials: new Map() });
    expect(plan.dropEntries).toEqual([A]);
    expect(plan.removeFiles).toEqual([A]);
  });

  it('counts companions as they measure on disk: one written but not yet counted, one removed behind our back', () => {
    const plan = planReconcile(
      [
        { name: A, state: 'ready', size: 5, companionBytes: 0 }, // crash after the .raw rename, before counting it
        { name: B, state: 'ready', size: 6, companionBytes: 30 }, // .raw removed by hand
        { name: C, state: 'ready', size: 7, companionBytes: 40 },
      ],
      { files: new Map([[A, 5], [`${A}.raw`, 25], [B, 6], [C, 7], [`${C}.raw`, 40]]), partials: new Map() },
    );
    expect(plan.companionBytes).toEqual([
      { name: A, bytes: 25 },
      { name: B, bytes: 0 },
    ]);
    expect(plan.removeFiles).toEqual([]);
  });
});
