/** Long activities heartbeat from a timer, repeating the last details the work reported. */
import { describe, expect, it } from 'vitest';
import { heartbeatWhile } from '../../activities/heartbeat-while.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('heartbeatWhile', () => {
  it('keeps heartbeating while the work is silent, repeating its last details, and stops after', async () => {
    const beats: unknown[] = [];
    const result = await heartbeatWhile(
      async (beat) => {
        await sleep(300); // silent, as qemu-img convert or a deregistration is
        beat({ stage: 'upload', part: 2 });
        await sleep(300);
        return 'ids';
      },
      { heartbeat: (d) => beats.push(d), everyMs: 50 },
    );
    expect(result).toBe('ids');
    const before = beats.indexOf(beats.find((b) => b !== undefined));
    expect(before).toBeGreaterThanOrEqual(3); // beats while silent, before any detail
    const after = beats.slice(before);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after.every((b) => JSON.stringify(b) === '{"stage":"upload","part":2}')).toBe(true);
    const count = beats.length;
    await sleep(200);
    expect(beats.length).toBe(count);
  });

  it('stops the timer when the work fails', async () => {
    const beats: unknown[] = [];
    await expect(heartbeatWhile(() => Promise.reject(new Error('site down')), { heartbeat: (d) => beats.push(d), everyMs: 20 })).rejects.toThrow('site down');
    const count = beats.length;
    await sleep(100);
    expect(beats.length).toBe(count);
  });
});
