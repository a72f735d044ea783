/** The Temporal boundary: the plain errors of the layers below become ApplicationFailures unchanged in meaning. */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ErrorType, ImageProxyError } from '../../common/errors.js';
import { applicationFailureOf, failingAsApplicationFailures } from '../../activities/application-failure-of.js';
import { NoCacheSpaceError } from '../../activities/cache/no-cache-space-error.js';
import { transferInterrupted } from '../../activities/transports/transfer-errors.js';

describe('applicationFailureOf', () => {
  it('keeps the type, the message and whether a retry may help', () => {
    const failure = applicationFailureOf(new ImageProxyError({ type: ErrorType.OriginRejected, nonRetryable: true, message: 'http://o/x: HTTP 404' }));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'OriginRejected', nonRetryable: true, message: 'http://o/x: HTTP 404' });
  });

  it('keeps the cause of a retryable failure and the retry delay of a full cache', () => {
    const cause = new Error('socket hang up');
    expect(applicationFailureOf(transferInterrupted('broke after 10 bytes', cause))).toMatchObject({ type: 'TransferInterrupted', nonRetryable: false, cause });
    const full = applicationFailureOf(new NoCacheSpaceError('insufficient cache space: …', false, 2500)) as ApplicationFailure;
    expect(full).toMatchObject({ type: 'InsufficientCacheSpace', nonRetryable: false });
    expect(full.nextRetryDelay).toBe(2500);
  });

  it('leaves every other error as it is', () => {
    const plain = new Error('disk full');
    expect(applicationFailureOf(plain)).toBe(plain);
  });

  it('wraps every activity of a set, keeping its name', async () => {
    const activities = failingAsApplicationFailures({
      fetchSomething: async function fetchSomething(): Promise<number> {
        throw new ImageProxyError({ type: ErrorType.BadTorrent, nonRetryable: true, message: 'not a torrent' });
      },
    });
    expect(activities.fetchSomething.name).toBe('fetchSomething');
    await expect(activities.fetchSomething()).rejects.toMatchObject({ name: 'ApplicationFailure', type: 'BadTorrent', nonRetryable: true, message: 'not a torrent' });
  });
});
