/**
 * SSRF through a registration: metadata URLs and part URLs on loopback, link-local, private and
 * IPv6 loopback addresses, direct and through a redirect from an allowed origin, fail the run at
 * once with the policy's message; allowed by CIDR, the same origin registers. The addresses outside
 * loopback are refused before a socket opens (never dialled).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationFailedError } from '../../client/image-proxy-client.js';
import { HttpOrigin } from '../support/http-origin.js';
import { cacheDirOf, startWorld, uniqueName, type World } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

describe('registerImage under the outbound policy', () => {
  let origin: HttpOrigin;
  let closed: World; // allows no special network
  let onlyOrigin: World; // allows the origin's own address, 127.0.0.1/32
  const closedSite = uniqueName('ssrf-closed');
  const site = uniqueName('ssrf');

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    closed = await startWorld({ sites: { [closedSite]: { type: 'local' } }, http: { allowedNetworks: [] } });
    onlyOrigin = await startWorld({ sites: { [site]: { type: 'local' } }, http: { allowedNetworks: ['127.0.0.1/32'] } });
  });
  afterAll(async () => {
    await closed?.stop();
    await onlyOrigin?.stop();
    await origin?.stop();
  });

  async function failure(world: World, at: string, url: string, guid: string): Promise<Error> {
    const err = await world.client.registerImage({ url, guid, site: at }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistrationFailedError);
    return err as Error;
  }

  it('refuses a metadata URL on 127.0.0.1 when loopback is not allowed; nothing reaches the origin, nothing is left', async () => {
    const image = await publishSampleImage(origin);
    const before = origin.log.length;
    const err = await failure(closed, closedSite, image.url, image.guid);
    expect(err.message).toContain(`${image.url}: refused to connect to 127.0.0.1 (a loopback address); allow it with http.allowedNetworks in the config`);
    expect(origin.log.length).toBe(before);
    expect(await readdir(join(cacheDirOf(closed), '.partial')).catch(() => [])).toEqual([]);
  });

  it.each([
    ['169.254.169.254', 'http://169.254.169.254/latest/meta-data/image.xml', 'a link-local address'],
    ['10.1.2.3', 'http://10.1.2.3:8080/image.xml', 'a private address'],
    ['::1', 'http://[::1]:9/image.xml', 'a loopback address'],
    ['127.0.0.2', 'http://127.0.0.2:9/image.xml', 'a loopback address'],
  ])('refuses a metadata URL on %s, direct and through a redirect from the allowed origin', async (address, target, kind) => {
    const guid = 'a'.repeat(40);
    const direct = await failure(onlyOrigin, site, target, guid);
    expect(direct.message).toContain(`refused to connect to ${address} (${kind}); allow it with http.allowedNetworks`);
    const hop = origin.addRedirect(`/meta-hop-${address}`, target);
    const redirected = await failure(onlyOrigin, site, hop, guid);
    expect(redirected.message).toContain(`${target}: refused to connect to ${address} (${kind})`);
    expect(origin.log.filter((r) => r.path === `/meta-hop-${address}`)).toHaveLength(1); // not retried
  });

  it.each([
    ['169.254.169.254', 'http://169.254.169.254/latest/meta-data/kernel', 'a link-local address'],
    ['10.1.2.3', 'http://10.1.2.3/kernel', 'a private address'],
    ['::1', 'http://[::1]:9/kernel', 'a loopback address'],
  ])('refuses a part URL on %s, direct and through a redirect, leaving no partial file', async (address, target, kind) => {
    for (const via of ['direct', 'redirect'] as const) {
      const location = via === 'direct' ? target : origin.addRedirect(`/part-hop-${address}`, target);
      const image = await publishSampleImage(origin, {
        editMetadata: (xml) => xml.replace(/(<type>KERNEL<\/type>[\s\S]*?<url>)[^<]*(<\/url>)/, `$1${location}$2`),
      });
      const err = await failure(onlyOrigin, site, image.url, image.guid);
      expect(err.message).toContain(`${target}: refused to connect to ${address} (${kind}); allow it with http.allowedNetworks`);
      expect(await readdir(join(cacheDirOf(onlyOrigin), '.partial')).catch(() => [])).toEqual([]);
      await expect(readdir(join(onlyOrigin.dataDir, 'sites', site, image.guid))).rejects.toThrow(/ENOENT/);
    }
  });

  it('registers from the same origin once its address is allowed by CIDR', async () => {
    const image = await publishSampleImage(origin);
    const result = await onlyOrigin.client.registerImage({ url: image.url, guid: image.guid, site });
    expect(Object.keys(result.ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
  });
});
