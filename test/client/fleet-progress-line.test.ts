/** The line `imageproxy register --site a --site b …` shows while a distribution runs. */
import { describe, expect, it } from 'vitest';
import { fleetLine, siteDoneLine } from '../../client/fleet-progress-line.js';

const MiB = 1 << 20;
const downloading = (site: string, done: number, total: number | undefined, rate?: number) => ({
  site,
  progress: { stage: 'download' as const, parts: [{ type: 'FILESYSTEM' as const, url: 'u', bytesDone: done, ...(total !== undefined ? { bytesTotal: total } : {}), ...(rate ? { bytesPerSecond: rate } : {}) }] },
});

describe('fleetLine', () => {
  it('counts the sites done and failed, groups the others by stage, and adds up the bytes of those downloading', () => {
    const line = fleetLine(
      5,
      [
        { site: 'a', ok: true, workflowId: 'w', ids: {}, alreadyRegistered: false },
        { site: 'b', ok: false, workflowId: 'w', error: 'x' },
      ],
      [downloading('c', 100 * MiB, 512 * MiB, 50 * MiB), downloading('d', 28 * MiB, 512 * MiB, 10 * MiB), { site: 'e', progress: { stage: 'metadata', parts: [] } }],
      { bar: false },
    );
    expect(line).toBe('2 of 5 sites done (1 failed); 2 downloading 128.0 MiB of 1.0 GiB at 60.0 MiB/s; 1 metadata');
  });

  it('an unknown total leaves out the "of"; a bar on terminals; sites not looked at yet are "starting"; a waiting run says so', () => {
    expect(fleetLine(2, [], [downloading('a', 3 * MiB, undefined)], { bar: false })).toBe('0 of 2 sites done; 1 downloading 3.0 MiB');
    expect(fleetLine(1, [], [downloading('a', 256 * MiB, 512 * MiB)], { bar: true })).toBe('0 of 1 sites done; 1 downloading [############............]  50% 256.0 MiB of 512.0 MiB');
    expect(fleetLine(3, [], [{ site: 'a' }, { site: 'b', progress: { stage: 'lookup', parts: [], waiting: 'a deregistration first' } }], { bar: false })).toBe(
      '0 of 3 sites done; 1 starting; 1 waiting',
    );
  });
});

describe('siteDoneLine', () => {
  it('says how a site ended and where its host took the parts', () => {
    expect(siteDoneLine({ site: 's1', ok: true, workflowId: 'w', ids: {}, alreadyRegistered: false, from: { FILESYSTEM: 'peers', KERNEL: 'origin' } })).toBe(
      's1: done (FILESYSTEM from peers, KERNEL from the origin)',
    );
    expect(siteDoneLine({ site: 's2', ok: true, workflowId: 'w', ids: {}, alreadyRegistered: true })).toBe('s2: already registered');
    expect(siteDoneLine({ site: 's3', ok: false, workflowId: 'w', error: 'site s3: down' })).toBe('s3: FAILED: site s3: down');
  });
});
