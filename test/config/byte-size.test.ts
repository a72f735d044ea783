import { describe, expect, it } from 'vitest';
import { formatBytes, parseByteSize } from '../../config/byte-size.js';
import { parseDuration } from '../../config/duration.js';
import { parseConfig } from '../../config/load-config.js';

describe('parseByteSize', () => {
  it.each([
    ['20GiB', 20 * 2 ** 30],
    ['20 gib', 20 * 2 ** 30],
    ['1.5MiB', 1.5 * 2 ** 20],
    ['500MB', 500e6],
    ['7', 7],
    ['3k', 3000],
    [1048576, 1048576],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each([['20 GiBs'], ['-1'], ['lots'], [''], [1.5], [-3]])('refuses %s', (text) => {
    expect(parseByteSize(text)).toMatchObject({ error: expect.stringMatching(/size|byte count/) });
  });

  it('formats for messages', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 2 ** 20)).toBe('3.0 MiB');
  });
});

describe('parseDuration', () => {
  it('reads units', () => {
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('soon')).toMatchObject({ error: expect.stringContaining('not a duration') });
  });
  it('reads what ms reads, and refuses a unitless string and zero', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration(' 1.5h ')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90')).toMatchObject({ error: expect.stringContaining('not a duration') });
    expect(parseDuration('0s')).toMatchObject({ error: expect.stringContaining('> 0') });
    expect(parseDuration('-5m')).toMatchObject({ error: expect.stringContaining('not a duration') });
  });
});

describe('cache and gc config', () => {
  it('parses cache.maxBytes and gc', () => {
    const c = parseConfig('{"sites":{"a":{"type":"local"}},"cache":{"maxBytes":"20GiB"},"gc":{"olderThanDays":30,"every":"1d"}}', '/x.json');
    expect(c.cache).toEqual({ maxBytes: 20 * 2 ** 30, spaceWaitMs: 60_000 });
    expect(c.gc).toEqual({ olderThanDays: 30, every: 86_400_000 });
  });

  it('names the key of a bad size', () => {
    expect(() => parseConfig('{"sites":{"a":{"type":"local"}},"cache":{"maxBytes":"20 gigs"}}', '/x.json')).toThrow(
      /\/x\.json: cache\.maxBytes: not a size: "20 gigs"/,
    );
  });
});
