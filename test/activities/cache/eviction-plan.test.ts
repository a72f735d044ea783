import { describe, expect, it } from 'vitest';
import { planEviction, type PlannedEntry } from '../../../activities/cache/eviction-plan.js';

const e = (name: string, size: number, useSeq: number, more: Partial<PlannedEntry> = {}): PlannedEntry => ({
  name,
  size,
  useSeq,
  state: 'ready',
  held: false,
  ...more,
});

describe('planEviction', () => {
  it('evicts nothing when it fits', () => {
    expect(planEviction({ entries: [e('a', 3, 1)], quota: 10, name: 'n', bytes: 7 })).toEqual({ fits: true, evict: [], freed: 0 });
  });

  it('evicts least recently used first, only as many as needed', () => {
    const entries = [e('new', 3, 9), e('old', 3, 1), e('mid', 3, 5)];
    expect(planEviction({ entries, quota: 9, name: 'n', bytes: 3 })).toEqual({ fits: true, evict: ['old'], freed: 3 });
    expect(planEviction({ entries, quota: 9, name: 'n', bytes: 6 })).toEqual({ fits: true, evict: ['old', 'mid'], freed: 6 });
  });

  it('never evicts a held entry, even the least recently used', () => {
    const entries = [e('old', 3, 1, { held: true }), e('mid', 3, 5), e('new', 3, 9)];
    expect(planEviction({ entries, quota: 9, name: 'n', bytes: 3 })).toEqual({ fits: true, evict: ['mid'], freed: 3 });
  });

  it('counts downloads in progress and evicts abandoned ones first', () => {
    const entries = [e('ready', 3, 1), e('stale', 3, 8, { state: 'downloading' }), e('live', 3, 9, { state: 'downloading', held: true })];
    expect(planEviction({ entries, quota: 9, name: 'n', bytes: 3 })).toEqual({ fits: true, evict: ['stale'], freed: 3 });
  });

  it('does not count the requester twice and answers need / can free when it cannot fit', () => {
    const entries = [e('n', 2, 3, { state: 'downloading', held: true }), e('a', 4, 1, { held: true }), e('b', 3, 2)];
    expect(planEviction({ entries, quota: 9, name: 'n', bytes: 8 })).toEqual({ fits: false, need: 6, canFree: 3 });
  });

  it('does not plan with entries already being evicted, but counts them', () => {
    const entries = [e('going', 3, 1, { state: 'evicting' }), e('a', 3, 2)];
    expect(planEviction({ entries, quota: 6, name: 'n', bytes: 3 })).toEqual({ fits: true, evict: ['a'], freed: 3 });
  });
});
