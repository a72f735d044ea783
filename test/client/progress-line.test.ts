import { describe, expect, it } from 'vitest';
import { formatDuration, partLine, progressBar, progressLine } from '../../client/progress-line.js';
import { formatBytes } from '../../config/byte-size.js';

describe('progress line of imageproxy register', () => {
  it('draws a bar proportional to the bytes done', () => {
    expect(progressBar(0, 100, 10)).toBe('[..........]   0%');
    expect(progressBar(42, 100, 10)).toBe('[####......]  42%');
    expect(progressBar(100, 100, 10)).toBe('[##########] 100%');
    expect(progressBar(5, undefined, 4)).toBe('[....]    ?');
  });
  it('says sizes in binary units (the one byte formatter, config/byte-size.ts)', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 << 20)).toBe('3.0 MiB');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
  });
  it('says one part with its rate and time left', () => {
    expect(partLine({ type: 'FILESYSTEM', url: 'u', bytesDone: 2 ** 30, bytesTotal: 8 * 2 ** 30, bytesPerSecond: 42 * 2 ** 20, etaSeconds: 166 })).toBe(
      'FILESYSTEM 1.0 GiB of 8.0 GiB (12%) at 42.0 MiB/s, ETA 2m46s',
    );
    expect(partLine({ type: 'KERNEL', url: 'k', bytesDone: 10, attempt: 2 })).toBe('KERNEL 10 B (attempt 2)');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(9)).toBe('9s');
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
    expect(progressLine({ stage: 'lookup', parts: [], waiting: 'waiting for the deregistration imageproxy-deregister/s/g to finish' }, { bar: true })).toBe(
      'lookup: waiting for the deregistration imageproxy-deregister/s/g to finish',
    );
  });
});
