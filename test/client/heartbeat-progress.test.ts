import { describe, expect, it } from 'vitest';
import { withHeartbeatProgress } from '../../client/heartbeat-progress.js';
import type { RegisterProgress } from '../../common/register-contract.js';

const known: RegisterProgress = {
  stage: 'download',
  parts: [
    { type: 'FILESYSTEM', url: 'f', bytesDone: 0 },
    { type: 'KERNEL', url: 'k', bytesDone: 300, bytesTotal: 300 },
  ],
};
const pending = (name: string, details: unknown) => ({ activityType: { name }, heartbeatDetails: { payloads: [details] } });
const identity = (p: unknown): unknown => p;

describe('withHeartbeatProgress', () => {
  it('takes the bytes in flight of each part from its downloadPart heartbeat', () => {
    const merged = withHeartbeatProgress(known, [pending('downloadPart', { type: 'FILESYSTEM', bytesDone: 1000, bytesTotal: 4000, resumeToken: 'x' })], identity);
    expect(merged.parts).toEqual([
      { type: 'FILESYSTEM', url: 'f', bytesDone: 1000, bytesTotal: 4000 },
      { type: 'KERNEL', url: 'k', bytesDone: 300, bytesTotal: 300 },
    ]);
  });

  it('ignores other activities, details of another shape, and a heartbeat behind what the workflow knows', () => {
    const merged = withHeartbeatProgress(
      known,
      [
        pending('registerParts', { type: 'FILESYSTEM', bytesDone: 5 }),
        pending('downloadPart', { bytesDone: 7 }),
        pending('downloadPart', { type: 'KERNEL', bytesDone: 10 }),
        { activityType: { name: 'downloadPart' } },
      ],
      identity,
    );
    expect(merged).toEqual(known);
  });
});
