/** The JSON API beside the SOAP front, over real workers of two `local` sites. */
import { createHash } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../client/http-front/auth.js';
import { registerWorkflowId } from '../../../common/naming.js';
import { ConfigSchema } from '../../../config/config-schema.js';
import { expectNoSecrets } from '../../support/credential-leak-scan.js';
import { startHttpFront, type HttpFront } from '../../../client/http-front/server.js';
import { createLogger } from '../../../workers/logger.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';
import { publishSampleImage } from '../../support/sample-images.js';

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

describe('the JSON API', () => {
  let origin: HttpOrigin;
  let world: World;
  let worldB: World;
  let front: HttpFront;
  const [siteA, siteB] = [uniqueName('json-a'), uniqueName('json-b')];

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    // One data dir per site, as on separate hosts.
    world = await startWorld({ sites: { [siteA]: { type: 'local' } } });
    worldB = await startWorld({ sites: { [siteB]: { type: 'local' } } });
    front = await startHttpFront({
      client: world.client,
      sites: [siteA, siteB],
      defaultSite: siteA,
      auth: await createAuthenticator({}, world.dataDir),
      port: 0,
      logger: createLogger('error'),
    });
  });
  afterAll(async () => {
    await front?.close();
    await world?.stop();
    await worldB?.stop();
    await origin?.stop();
  });

  it('POST starts the sites without waiting, GET shows per-site stage and ids, DELETE deregisters one site', async () => {
    const image = await publishSampleImage(origin);
    const posted = await fetch(`${front.url}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: image.url, guid: image.guid, sites: [siteA, siteB] }),
    });
    expect(posted.status).toBe(202);
    const accepted = (await posted.json()) as { statusUrl: string; workflowId: string };
    expect(accepted.statusUrl).toBe(`/v1/images/${image.guid}`);
    expect(posted.headers.get('location')).toBe(accepted.statusUrl);

    type Shown = { guid: string; sites: { site: string; status: string; stage: string; ids?: Record<string, string> }[] };
    const show = async (): Promise<Shown | undefined> => {
      const res = await fetch(front.url + accepted.statusUrl);
      return res.status === 200 ? ((await res.json()) as Shown) : undefined;
    };
    await expect
      .poll(async () => (await show())?.sites.map((s) => `${s.site} ${s.status} ${s.stage}`), { timeout: 30_000 })
      .toEqual([`${siteA} COMPLETED done`, `${siteB} COMPLETED done`]);
    const shown = (await show())!;
    const fsB = join(worldB.dataDir, 'sites', siteB, image.guid, 'FILESYSTEM');
    expect(shown.sites[1]!.ids?.FILESYSTEM).toBe(fsB);

    const deleted = await fetch(`${front.url}/v1/images/${image.guid}?site=${siteB}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ guid: image.guid, site: siteB, deregistered: true });
    expect(await exists(fsB)).toBe(false);
    expect(await exists(join(world.dataDir, 'sites', siteA, image.guid, 'FILESYSTEM'))).toBe(true);
    const after = (await show())!;
    expect(after.sites.map((s) => `${s.site} ${s.stage} ${s.ids ? 'ids' : 'no ids'}`)).toEqual([`${siteA} done ids`, `${siteB} deregistered no ids`]);
  });

  it('accepts a GUID in any case and answers under the lower-case GUID', async () => {
    const image = await publishSampleImage(origin);
    const upper = image.guid.toUpperCase();
    const posted = await fetch(`${front.url}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: image.url, guid: upper, sites: [siteA] }),
    });
    expect(posted.status).toBe(202);
    expect(((await posted.json()) as { statusUrl: string }).statusUrl).toBe(`/v1/images/${image.guid}`);
    await expect
      .poll(async () => {
        const res = await fetch(`${front.url}/v1/images/${upper}`);
        return res.status === 200 ? ((await res.json()) as { guid: string; sites: { stage: string }[] }) : undefined;
      }, { timeout: 30_000 })
      .toMatchObject({ guid: image.guid, sites: [{ stage: 'done' }] });
  });

  it('says what is wrong with a bad request', async () => {
    const post = (body: string) => fetch(`${front.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const cases: [string, number, RegExp][] = [
      ['{not json', 400, /the body is not JSON/],
      [JSON.stringify({ url: 'http://x/y.xml', guid: 'nope' }), 400, /guid: GUID must be the 40-hex-digit SHA-1/],
      [JSON.stringify({ url: 'http://x/y.xml', guid: 'a'.repeat(40), sites: ['elsewhere'] }), 400, /sites: unknown elsewhere/],
      [JSON.stringify({ guid: 'a'.repeat(40) }), 400, /url: a string is needed/],
    ];
    for (const [body, status, message] of cases) {
      const res = await post(body);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    const unknown = await fetch(`${front.url}/v1/images/${'b'.repeat(40)}`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/no registration of b{40} is known/);
  });

  it('gives a limited token only its sites and operations: 403 naming the site and operation, never the token', async () => {
    await writeFile(join(world.dataDir, 'registrar-tokens'), '# site A registrars\nregistrar-token-a\n');
    const watcher = 'watcher-token-b';
    const auth = await createAuthenticator(
      {
        bearerTokenSha256: [createHash('sha256').update('admin-token').digest('hex')],
        bearerTokens: [
          { tokenFile: 'registrar-tokens', sites: [siteA], operations: ['register', 'status'] },
          { tokenSha256: createHash('sha256').update(watcher).digest('hex'), sites: [siteB], operations: ['status'] },
        ],
      },
      world.dataDir,
    );
    const limited = await startHttpFront({ client: world.client, sites: [siteA, siteB], defaultSite: siteA, auth, port: 0, logger: createLogger('error') });
    try {
      const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      const guid = 'c'.repeat(40);
      const post = (token: string, sites: string[]) =>
        fetch(`${limited.url}/v1/images`, { method: 'POST', headers: as(token), body: JSON.stringify({ url: 'http://127.0.0.1:9/none.xml', guid, sites }) });
      const refused = async (res: Response, message: RegExp): Promise<void> => {
        expect(res.status).toBe(403);
        const text = await res.text();
        expect(text).toMatch(message);
        expect(text).not.toMatch(/registrar-token|watcher-token|admin-token/);
      };

      await refused(await post('registrar-token-a', [siteA, siteB]), new RegExp(`this token may not register at site ${siteB}`));
      await refused(await post(watcher, [siteB]), new RegExp(`this token may not register at site ${siteB}`));
      const del = (token: string, site: string) => fetch(`${limited.url}/v1/images/${guid}?site=${site}`, { method: 'DELETE', headers: as(token) });
      await refused(await del('registrar-token-a', siteA), new RegExp(`this token may not deregister at site ${siteA}`));
      await refused(await del(watcher, siteB), new RegExp(`this token may not deregister at site ${siteB}`));
      // SOAP has no per-operation split: a limited token is refused there, naming what it lacks.
      await refused(await fetch(`${limited.url}/sites/${siteA}/axis2/services/IMAGEPROXY?wsdl`, { headers: as('registrar-token-a') }), new RegExp(`may not deregister at site ${siteA}`));
      // Status: a permitted site answers (404: nothing known there), an unknown token is 401, an unlimited one passes.
      expect((await fetch(`${limited.url}/v1/images/${guid}`, { headers: as(watcher) })).status).toBe(404);
      expect((await fetch(`${limited.url}/v1/images/${guid}`, { headers: as('stolen') })).status).toBe(401);
      expect((await del('admin-token', siteB)).status).not.toBe(403);

      // A local-site registration by a token-bearing caller: the token reaches no payload and no worker log line.
      const image = await publishSampleImage(origin);
      const posted = await fetch(`${limited.url}/v1/images`, { method: 'POST', headers: as('registrar-token-a'), body: JSON.stringify({ url: image.url, guid: image.guid, sites: [siteA] }) });
      expect(posted.status).toBe(202);
      const { workflowId } = (await posted.json()) as { workflowId: string };
      await expect.poll(async () => (await world.client.getStatus(image.guid, siteA))?.status, { timeout: 30_000 }).toBe('COMPLETED');
      await expectNoSecrets(world, [workflowId, registerWorkflowId(siteA, image.guid)], { 'the bearer token': 'registrar-token-a' });
    } finally {
      await limited.close();
    }
  });

  it('refuses a limited token for a site the config does not have, at load', () => {
    const parsed = ConfigSchema.safeParse({
      sites: { here: { type: 'local' } },
      httpFront: { bearerTokens: [{ tokenSha256: 'a'.repeat(64), sites: ['elsewhere'], operations: ['status'] }] },
    });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/httpFront.*bearerTokens.*no site named elsewhere/);
  });
});
