import { describe, expect, it } from 'vitest';
import { humanLogLine } from '../../workers/human-log-line.js';

describe('human log lines', () => {
  it('puts time, level, site and the short GUID first, then the other fields', () => {
    const json = JSON.stringify({ level: 30, time: Date.UTC(2026, 10, 30, 12, 4, 31), pid: 7, hostname: 'h', service: 'imageproxy', site: 'cloud-a', guid: '517ed2b0aaaabbbbccccddddeeeeffff00001111', ids: { FILESYSTEM: 'emi-1' }, msg: 'registered' });
    expect(humanLogLine(json)).toBe('12:04:31 INFO  cloud-a 517ed2b0 registered ids={"FILESYSTEM":"emi-1"}\n');
  });
  it('marks a missing site or GUID and passes through what is not JSON', () => {
    expect(humanLogLine(JSON.stringify({ level: 40, time: 0, msg: 'slow' }))).toBe('00:00:00 WARN  - - slow\n');
    expect(humanLogLine('plain text')).toBe('plain text\n');
  });
});
