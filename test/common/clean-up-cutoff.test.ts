import { describe, expect, it } from 'vitest';
import { cleanUpCutoff } from '../../common/clean-up-contract.js';

const now = Date.parse('2026-11-24T12:00:00.000Z');

describe('cleanUpCutoff', () => {
  it('counts olderThanDays back from now, fractions included', () => {
    expect(cleanUpCutoff({ olderThanDays: 30 }, now)).toEqual({ cutoff: '2026-10-25T12:00:00.000Z' });
    expect(cleanUpCutoff({ olderThanDays: 0.5 }, now)).toEqual({ cutoff: '2026-11-24T00:00:00.000Z' });
  });

  it('takes notRequestedSince as it is, normalised to ISO', () => {
    expect(cleanUpCutoff({ notRequestedSince: '2026-11-01T00:00:00+01:00' }, now)).toEqual({ cutoff: '2026-10-31T23:00:00.000Z' });
  });

  it('says what is wrong with anything else', () => {
    const problem = (input: Parameters<typeof cleanUpCutoff>[0]) => (cleanUpCutoff(input, now) as { problem: string }).problem;
    expect(problem({})).toBe('olderThanDays must be a number > 0, got undefined');
    expect(problem({ olderThanDays: 0 })).toBe('olderThanDays must be a number > 0, got 0');
    expect(problem({ olderThanDays: 1, notRequestedSince: '2026-11-01T00:00:00Z' })).toBe('give olderThanDays or notRequestedSince, not both');
    expect(problem({ notRequestedSince: 'last tuesday' })).toBe('notRequestedSince is not a time: "last tuesday"');
    expect(problem({ notRequestedSince: '2027-01-01T00:00:00Z' })).toBe('notRequestedSince 2027-01-01T00:00:00Z is in the future');
  });
});
