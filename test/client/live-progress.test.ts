import { describe, expect, it } from 'vitest';
import { withHeartbeats } from '../../client/live-progress.js';
import type { RegisterProgress } from '../../common/register-contract.js';

const progress: RegisterProgress = {
  stage: 'download',
  parts: [
    { type: 'FILESYSTEM', url: 'http://o/fs', bytesDone: 0 },
    { type: 'KERNEL', url: 'http://o/k', bytesDone: 0 },
  ],
};

describe('live progress from download heartbeats', () => {
  it('puts each heartbeat on its part, with rate and ETA', () => {
    const live = withHeartbeats(progress, [
      { activityType: 'downloadPart', attempt: 1, details: { type: 'KERNEL', bytesDone: 100, bytesTotal: 100 } },
      { activityType: 'downloadPart', attempt: 2, details: { type: 'FILESYSTEM', bytesDone: 1000, bytesTotal: 5000, bytesPerSecond: 200, resumeToken: 'x' } },
      { activityType: 'lookupImage', attempt: 1, details: undefined },
    ]);
    expect(live.parts[0]).toEqual({ type: 'FILESYSTEM', url: 'http://o/fs', bytesDone: 1000, bytesTotal: 5000, bytesPerSecond: 200, etaSeconds: 20, attempt: 2 });
    expect(live.parts[1]).toEqual({ type: 'KERNEL', url: 'http://o/k', bytesDone: 100, bytesTotal: 100, attempt: 1 });
  });

  it('keeps what the workflow says when no download is pending or the details have another shape', () => {
    expect(withHeartbeats(progress, [])).toEqual(progress);
    expect(withHeartbeats(progress, [{ activityType: 'downloadPart', attempt: 1, details: 'starting' }])).toEqual(progress);
  });

  it('never shows fewer bytes than the workflow already knew', () => {
    const known: RegisterProgress = { stage: 'download', parts: [{ type: 'FILESYSTEM', url: 'u', bytesDone: 500, bytesTotal: 900 }] };
    const live = withHeartbeats(known, [{ activityType: 'downloadPart', attempt: 1, details: { type: 'FILESYSTEM', bytesDone: 100 } }]);
    expect(live.parts[0]!.bytesDone).toBe(500);
  });
});
