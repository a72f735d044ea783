/** What `imageproxy register` prints for several sites: ids, and where each host took each part from. */
import { describe, expect, it } from 'vitest';
import { formatDistribution } from '../../../../client/cli/commands/register.js';
import { fromText } from '../../../../client/fleet-progress-line.js';

describe('register output', () => {
  it('names where each part came from, per site, and nothing for a site that already held the image', () => {
    const text = formatDistribution({
      guid: 'g',
      mode: 'register',
      failed: ['s3'],
      sites: [
        { site: 's1', ok: true, workflowId: 'w1', alreadyRegistered: false, ids: { FILESYSTEM: '/a' }, from: { FILESYSTEM: 'origin', KERNEL: 'cache' } },
        { site: 's2', ok: true, workflowId: 'w2', alreadyRegistered: true, ids: { FILESYSTEM: '/b' } },
        { site: 's3', ok: false, workflowId: 'w3', error: 'site s3: down' },
      ],
    });
    expect(text.split('\n')).toEqual([
      'g: 2 of 3 sites ok',
      '  s1: (FILESYSTEM from the origin, KERNEL from the host cache)',
      '    FILESYSTEM=/a',
      '  s2: (already registered)',
      '    FILESYSTEM=/b',
      '  s3: FAILED: site s3: down',
    ]);
  });

  it('says nothing of sources a worker of an older version did not report', () => {
    expect(fromText(undefined)).toBe('');
    expect(fromText({ FILESYSTEM: 'peers' })).toBe(' (FILESYSTEM from peers)');
  });
});
