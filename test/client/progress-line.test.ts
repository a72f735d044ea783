import { describe, expect, it } from 'vitest';
import { humanBytes, progressBar, progressLine } from '../../client/progress-line.js';

describe('progress line of imageproxy register', () => {
  it('draws a bar proportional to the bytes done', () => {
    expect(progressBar(0, 100, 10)).toBe('[..........]   0%');
    expect(progressBar(42, 100, 10)).toBe('[####......]  42%');
    expect(progressBar(100, 100, 10)).toBe('[##########] 100%');
    expect(progressBar(5, undefined, 4)).toBe('[....]    ?');
  });
  it('says sizes in binary units', () => {
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(3 << 20)).toBe('3.0 MiB');
    expect(humanBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
  });
  it('sums the parts while downloading; names the stage otherwise', () => {
    const parts = [
      { type: 'FILESYSTEM' as const, url: 'u', bytesDone: 1 << 20, bytesTotal: 3 << 20 },
      { type: 'KERNEL' as const, url: 'k', bytesDone: 1 << 20, bytesTotal: 1 << 20 },
    ];
    expect(progressLine({ stage: 'download', parts }, { bar: false })).toBe('download 2.0 MiB of 4.0 MiB (50%), 2 parts');
    expect(progressLine({ stage: 'download', parts }, { bar: true })).toBe(`download [${'#'.repeat(12)}${'.'.repeat(12)}]  50% 2.0 MiB of 4.0 MiB`);
    expect(progressLine({ stage: 'download', parts: [{ type: 'KERNEL', url: 'k', bytesDone: 10 }] }, { bar: false })).toBe('download 10 B, 1 part');
    expect(progressLine({ stage: 'register', parts }, { bar: true })).toBe('register');
  });
});
