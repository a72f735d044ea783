/**
 * The site's queue and each host's queue serve only their own activities: a host-queue activity
 * (it reads this host's disk) sent to the site's queue fails at once with NotFoundError, and the
 * other way round, instead of running on a worker that may not hold the files. Real Temporal,
 * the real site workers, and a test workflow that sends one activity where it is told.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTestDir, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';

describe('activities on their own task queues', () => {
  let world: World;
  let connection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;
  let testWorker: Worker;
  let testWorkerRun: Promise<void>;
  const site = uniqueName('queues');
  const testQueue = uniqueName('call-activity');

  beforeAll(async () => {
    world = await startWorld({ sites: { [site]: { type: 'local', dir: await newTestDir('queues-site') } } });
    connection = await NativeConnection.connect({ address: world.address });
    clientConnection = await Connection.connect({ address: world.address });
    client = new Client({ connection: clientConnection, namespace: 'default' });
    testWorker = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue: testQueue,
      workflowsPath: resolve('test/support/call-activity-workflow.ts'),
    });
    testWorkerRun = testWorker.run();
  });
  afterAll(async () => {
    if (testWorker?.getState() === 'RUNNING') testWorker.shutdown();
    await testWorkerRun;
    await clientConnection?.close();
    await connection?.close();
    await world?.stop();
  });

  const call = (taskQueue: string, activity: string): Promise<unknown> =>
    client.workflow.execute('callActivityOn', {
      args: [{ taskQueue, activity }],
      taskQueue: testQueue,
      workflowId: `call-${activity}-${randomBytes(4).toString('hex')}`,
    });

  /** The innermost failure of a failed run: the worker's own answer. */
  async function failureOf(run: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = err;
    while (cause instanceof Error && cause.cause) cause = cause.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  it('serves each activity on its own queue', async () => {
    const worker = world.workers[0]!;
    expect(await call(worker.siteQueue, 'claimHost')).toBe(worker.hostQueue);
    expect(await call(worker.hostQueue, 'releaseCacheHolds')).toBe(0);
  });

  it('fails a host-queue activity sent to the site queue, naming it', async () => {
    const failure = await failureOf(call(world.workers[0]!.siteQueue, 'releaseCacheHolds'));
    expect(failure.type).toBe('NotFoundError');
    expect(failure.message).toContain('releaseCacheHolds is not registered');
  });

  it('fails a site-queue activity sent to a host queue, naming it', async () => {
    const failure = await failureOf(call(world.workers[0]!.hostQueue, 'lookupImage'));
    expect(failure.type).toBe('NotFoundError');
    expect(failure.message).toContain('lookupImage is not registered');
  });
});
