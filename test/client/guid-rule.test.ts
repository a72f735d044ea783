/**
 * One GUID rule for every front (the client library under the CLI, the JSON API and SOAP): any
 * case is accepted and lower-cased. And `list --missing` (the client's drift report) names only
 * GUIDs that were images somewhere, not requests refused for a wrong GUID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationFailedError } from '../../client/image-proxy-client.js';
import { normalizeGuid } from '../../common/guid.js';
import { HttpOrigin } from '../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

describe('the GUID rule', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('guid');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('normalizeGuid lower-cases 40 hex digits of any case and leaves anything else for guidProblem', () => {
    expect(normalizeGuid('ABCDEF0123456789ABCDEF0123456789ABCDEF01')).toBe('abcdef0123456789abcdef0123456789abcdef01');
    expect(normalizeGuid('nope')).toBe('nope');
    expect(normalizeGuid(7)).toBe(7);
  });

  it('registers, shows and lists an image asked for by an upper-case GUID, under its lower-case GUID', async () => {
    const image = await publishSampleImage(origin);
    const upper = image.guid.toUpperCase();
    const result = await world.client.registerImage({ url: image.url, guid: upper, site });
    expect(result.guid).toBe(image.guid);
    expect(result.ids.FILESYSTEM).toMatch(new RegExp(`/${image.guid}/FILESYSTEM$`));
    expect((await world.client.getStatus(upper, site))?.stage).toBe('done');
    expect((await world.client.list({ guid: upper })).map((r) => r.guid)).toEqual([image.guid]);
    // Asked again in lower case: the same registration, answered from the site.
    expect((await world.client.registerImage({ url: image.url, guid: image.guid, site })).alreadyRegistered).toBe(true);
  });

  it('list --missing does not report a GUID that never was an image', async () => {
    const image = await publishSampleImage(origin);
    const wrong = 'e'.repeat(40); // not the metadata's SHA-1: refused
    const err = await world.client.registerImage({ url: image.url, guid: wrong, site }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistrationFailedError);
    await world.client.registerImage({ url: image.url, guid: image.guid, site });
    await expect
      .poll(async () => (await world.client.missing([site])).find((r) => r.guid === image.guid)?.present, { timeout: 15_000 })
      .toEqual([site]);
    expect((await world.client.missing([site])).map((r) => r.guid)).not.toContain(wrong);
  });
});
