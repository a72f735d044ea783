/**
 * Retries bounded by time (`retryFor`), not by a count: a part server that accepts connections and
 * never answers fails the run once `retryFor` has passed (here 15 s instead of the production
 * "6h", with a 2 s connect timeout), with an error naming the URL and the time-out; meanwhile
 * `status` says what is being retried.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationFailedError, type ImageStatus } from '../../client/image-proxy-client.js';
import { retryingOf } from '../../client/retrying-state.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

describe('retries bounded by retryFor', () => {
  let origin: HttpOrigin;
  let silent: Server;
  const sockets: Socket[] = [];
  let world: World;
  const site = uniqueName('retry-for');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    silent = createServer((socket) => void sockets.push(socket)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    world = await startWorld({ sites: { [site]: { type: 'local' } }, retryFor: '15s', http: { allowedNetworks: ['127.0.0.0/8'], connectTimeoutMs: 2000 } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
    for (const s of sockets) s.destroy();
    silent?.close();
  });

  it('a part server that never answers fails the run after retryFor, naming the URL and the time-out; status said it was retrying', async () => {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/kernel`;
    const image = await publishSampleImage(origin, { editMetadata: (xml) => xml.replace(/(<type>KERNEL<\/type>[\s\S]*?<url>)[^<]*(<\/url>)/, `$1${url}$2`) });
    const started = Date.now();
    const outcome = world.client.registerImage({ url: image.url, guid: image.guid, site }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const seen: string[] = [];
    let done = false;
    void outcome.finally(() => (done = true));
    while (!done) {
      const status: ImageStatus | undefined = await world.client.getStatus(image.guid, site).catch(() => undefined);
      if (status?.retrying) seen.push(status.retrying);
      await new Promise((r) => setTimeout(r, 500));
    }
    const err = await outcome;
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(RegistrationFailedError);
    expect(err!.message).toContain(`${url}: no answer within 2000 ms`);
    expect(err!.message).toMatch(/retried for \d+ s, \d+ attempts; retryFor is 15 s/);
    expect(took).toBeGreaterThanOrEqual(15_000); // not before retryFor
    expect(sockets.length).toBeGreaterThanOrEqual(3); // retried, not final at once
    expect(seen.some((s) => /^retrying: downloadPart: .*no answer within 2000 ms \(attempt \d+, (next in \d+ s|running now)\)/.test(s))).toBe(true);
  }, 120_000);
});

describe('retryingOf', () => {
  it('describes pending activities being retried, and nothing otherwise', () => {
    const now = 1_000_000;
    expect(retryingOf([{ activityType: { name: 'downloadPart' }, attempt: 1 }], now)).toBeUndefined();
    expect(
      retryingOf([{ activityType: { name: 'downloadPart' }, attempt: 3, lastFailure: { message: 'x: no answer' }, nextAttemptScheduleTime: { seconds: 1004, nanos: 0 } }], now),
    ).toBe('retrying: downloadPart: x: no answer (attempt 3, next in 4 s)');
    expect(retryingOf(undefined, now)).toBeUndefined();
  });
});
