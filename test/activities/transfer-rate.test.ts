import { describe, expect, it } from 'vitest';
import { TransferRate } from '../../activities/transfer-rate.js';

describe('TransferRate', () => {
  it('answers bytes per second over the window, not since the start', () => {
    const rate = new TransferRate(10_000);
    expect(rate.sample(0, 5_000_000)).toBeUndefined(); // resumed at 5 MB: those bytes are not rate
    expect(rate.sample(1000, 5_100_000)).toBe(100_000);
    for (let t = 2000; t <= 20_000; t += 1000) rate.sample(t, 5_100_000 + ((t - 1000) / 1000) * 100_000);
    // A stall: the rate falls as the window moves past the last bytes.
    expect(rate.sample(25_000, 7_000_000)).toBeLessThan(100_000);
    expect(rate.sample(40_000, 7_000_000)).toBe(0);
  });
});
