/**
 * The `local` site publishes copies (reflinks where the file system supports them), not hard links
 * into the cache: a consumer writing to a published disk (a KVM guest) cannot change the verified
 * bytes the cache hands to the next registration.
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOrigin } from '../../../support/http-origin.js';
import { cacheDirOf, startWorld, uniqueName, type World } from '../../../support/image-proxy-world.js';
import { publishSampleImage } from '../../../support/sample-images.js';

const sha1 = async (file: string): Promise<string> => createHash('sha1').update(await readFile(file)).digest('hex');

describe('local site publishes copies', () => {
  let origin: HttpOrigin;
  let world: World;
  const [site, other] = [uniqueName('copies'), uniqueName('copies-b')];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' }, [other]: { type: 'local' } } });
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('a write to a published file leaves the cached, verified bytes as they were', async () => {
    const image = await publishSampleImage(origin);
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    const first = await world.client.registerImage({ url: image.url, guid: image.guid, site });
    const published = first.ids.FILESYSTEM!;
    const cached = join(cacheDirOf(world), fs.sha1);
    expect((await stat(published)).ino).not.toBe((await stat(cached)).ino);
    expect((await stat(cached)).nlink).toBe(1);

    await appendFile(published, 'written by a guest');
    expect(await sha1(cached)).toBe(fs.sha1);

    // The next site gets the verified bytes from the cache (nothing downloaded again).
    const before = origin.requestsOf(fs.urlPath);
    const second = await world.client.registerImage({ url: image.url, guid: image.guid, site: other });
    expect(origin.requestsOf(fs.urlPath)).toBe(before);
    expect(await sha1(second.ids.FILESYSTEM!)).toBe(fs.sha1);
  });
});
