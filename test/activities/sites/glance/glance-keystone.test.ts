/**
 * The glance backend with real Keystone tokens: a real Keystone (uwsgi, SQLite, fernet tokens) and
 * a real Glance checking them (`flavor = keystone`, validated tokens trusted for 5 s), one of each
 * for the file. Tokens that expire soon come from an application credential with an `expires_at`. Credentials come from a clouds.yaml and an openrc as users get them; the
 * image endpoint from the catalog. Errors are typed, and never quote a secret.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedPart } from '../../../../common/image-types.js';
import { ErrorType, ImageProxyError } from '../../../../common/errors.js';
import type { RegisterRequest } from '../../../../activities/sites/site-backend.js';
import { writePart } from '../../../support/cached-parts.js';
import { startGlanceServer, type GlanceServer } from '../../../support/glance-server.js';
import { newTestDir } from '../../../support/image-proxy-world.js';
import { startKeystoneServer, type KeystoneServer } from '../../../support/keystone-server.js';
import { glanceReader, glanceSite, sha512Of } from './glance-fixture.js';

const GLANCE_TOKEN_CACHE_S = 5;
const PASSWORD = 'imageproxy-secret-pw-7';
let nextGuid = Math.floor(Math.random() * 1e6);
const newGuid = (): string => `${Date.now().toString(16).padStart(12, '0')}${(nextGuid++).toString(16).padStart(28, '0')}`;
const request = (guid: string, parts: CachedPart[]): RegisterRequest => ({ guid, metadataUrl: `http://origin.invalid/${guid}.xml`, parts, rawImageOf: async (p) => p.path });
const failureOf = (p: Promise<unknown>): Promise<ImageProxyError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as ImageProxyError,
  );

describe('glance site with Keystone tokens', () => {
  let dir: string;
  let keystone: KeystoneServer;
  let glance: GlanceServer;
  let projectId: string;
  let reader: ReturnType<typeof glanceReader>;
  const secrets: string[] = [PASSWORD];

  const cloudsYaml = async (name: string, password: string): Promise<string> => {
    const file = join(dir, `${name}-clouds.yaml`);
    await writeFile(
      file,
      [
        'clouds:',
        `  ${name}:`,
        '    auth:',
        `      auth_url: ${keystone.authUrl.replace(/\/v3$/, '')}`,
        '      username: imageproxy',
        `      password: "${password}"`,
        '      project_name: imageproxy',
        '      user_domain_name: Default',
        '      project_domain_name: Default',
        '    region_name: RegionOne',
        '    interface: public',
        '    identity_api_version: 3',
        '',
      ].join('\n'),
    );
    return file;
  };

  beforeAll(async () => {
    dir = await newTestDir('glance-keystone');
    keystone = await startKeystoneServer(join(dir, 'keystone'));
    await keystone.createProjectUser('glance', 'glance-service-pw', ['admin']);
    glance = await startGlanceServer(join(dir, 'glance'), {
      keystone: { authUrl: keystone.authUrl, serviceUser: 'glance', servicePassword: 'glance-service-pw', serviceProject: 'glance', tokenCacheSeconds: GLANCE_TOKEN_CACHE_S },
    });
    await keystone.addImageEndpoint(glance.url);
    ({ projectId } = await keystone.createProjectUser('imageproxy', PASSWORD));
    reader = glanceReader(glance.url, () => keystone.issueToken('imageproxy', PASSWORD, 'imageproxy'));
  }, 300_000); // Keystone and Glance, set up through Keystone's API: a few minutes on a loaded machine
  afterAll(async () => {
    await glance?.stop();
    await keystone?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('clouds.yaml with a password, endpoint from the catalog, glance-direct import: active, owned, multihash equal', async () => {
    const file = await cloudsYaml('research', PASSWORD);
    const site = await glanceSite(dir, { cloudsYaml: { file, cloud: 'research' }, importMethod: 'glance-direct' });
    const guid = newGuid();
    // One part: every Glance request costs a Keystone validation here (the three-part image with its
    // links is proven in glance-site.test.ts).
    const fs = await writePart(dir, 'FILESYSTEM', 2 << 20, { zeros: 1 << 20 });
    const ids = await site.register(request(guid, [fs]));
    const image = (await reader.image(ids.FILESYSTEM!))!;
    expect(image).toMatchObject({ status: 'active', owner: projectId, os_hash_algo: 'sha512', os_hash_value: await sha512Of(fs.path) });
    expect(image.tags).toContain(`imageproxy:guid:${guid}`);
    expect(await site.lookup(guid)).toEqual(ids);
    expect(site.tokens.issued).toBe(1);
    await site.deregister(guid);
  });

  it('an openrc with an application credential, read as data (never run)', async () => {
    const credential = await keystone.createApplicationCredential('imageproxy', PASSWORD, 'imageproxy');
    secrets.push(credential.secret);
    const openrc = join(dir, 'app-openrc.sh');
    const marker = join(dir, 'openrc-was-executed');
    await writeFile(
      openrc,
      [
        '#!/usr/bin/env bash',
        `touch ${marker}`,
        `export OS_AUTH_TYPE=v3applicationcredential`,
        `export OS_AUTH_URL=${keystone.authUrl}`,
        `export OS_APPLICATION_CREDENTIAL_ID=${credential.id}`,
        `export OS_APPLICATION_CREDENTIAL_SECRET='${credential.secret}'`,
        'export OS_REGION_NAME="RegionOne"',
        'export OS_INTERFACE=public',
        'export OS_IDENTITY_API_VERSION=3',
        '',
      ].join('\n'),
    );
    const site = await glanceSite(dir, { openrc });
    const guid = newGuid();
    const fs = await writePart(dir, 'FILESYSTEM', 1 << 20);
    const ids = await site.register(request(guid, [fs]));
    expect(await reader.image(ids.FILESYSTEM!)).toMatchObject({ status: 'active', owner: projectId, os_hash_value: await sha512Of(fs.path) });
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
    await site.deregister(guid);
  });

  it('a wrong password: SiteRejected, not retried, naming the site and Keystone, not the password', async () => {
    const file = await cloudsYaml('wrong', 'not-the-password-3');
    const site = await glanceSite(dir, { cloudsYaml: { file, cloud: 'wrong' } });
    const err = await failureOf(site.register(request(newGuid(), [await writePart(dir, 'FILESYSTEM', 1 << 18)])));
    expect(err).toBeInstanceOf(ImageProxyError);
    expect(err).toMatchObject({ type: ErrorType.SiteRejected, nonRetryable: true });
    expect(err.message).toMatch(new RegExp(`glance site ${site.site}: Keystone .* refused the password credentials \\(401\\)`));
    expect(err.message).not.toContain('not-the-password-3');
  });

  it('a token is renewed before it expires, and when Glance refuses it (revoked)', async () => {
    let ahead = 0;
    const site = await glanceSite(dir, { cloudsYaml: { file: await cloudsYaml('renew', PASSWORD), cloud: 'renew' } }, { clock: () => Date.now() + ahead });
    expect(await site.lookup(newGuid())).toBeUndefined();
    expect(site.tokens.issued).toBe(1);
    ahead = 3600_000 - 30_000; // half a minute before the hour-long token expires: renewed first
    expect(await site.lookup(newGuid())).toBeUndefined();
    ahead = 0;
    const renewed = site.tokens.issued;
    expect(renewed).toBeGreaterThan(1);
    await keystone.revokeToken((await site.tokens.token())!);
    await new Promise((r) => setTimeout(r, (GLANCE_TOKEN_CACHE_S + 1) * 1000)); // Glance forgets it validated it
    expect(await site.lookup(newGuid())).toBeUndefined();
    expect(site.tokens.issued).toBe(renewed + 1);
  });

  it('expired: a pre-issued token and an application credential fail clearly, not retried, quoting no secret', async () => {
    const expiresAt = new Date(Date.now() + 45_000);
    const credential = await keystone.createApplicationCredential('imageproxy', PASSWORD, 'imageproxy', expiresAt);
    const token = await keystone.issueApplicationCredentialToken(credential.id, credential.secret);
    secrets.push(credential.secret, token);
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${token}\n`);
    const openrc = join(dir, 'expiring-openrc.sh');
    await writeFile(openrc, `export OS_AUTH_URL=${keystone.authUrl}\nexport OS_APPLICATION_CREDENTIAL_ID=${credential.id}\nexport OS_APPLICATION_CREDENTIAL_SECRET=${credential.secret}\n`);
    const sites = [
      await glanceSite(dir, { tokenFile, authUrl: keystone.authUrl }),
      await glanceSite(dir, { tokenFile, imageUrl: glance.url }),
      await glanceSite(dir, { openrc }),
    ];
    const guid = newGuid();
    for (const site of sites) expect(await site.lookup(guid)).toBeUndefined(); // all work before the expiry

    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() + 1000 - Date.now())));
    const messages: string[] = [];
    for (const site of [...sites, await glanceSite(dir, { tokenFile, authUrl: keystone.authUrl })]) {
      const err = await failureOf(site.lookup(guid));
      expect(err).toMatchObject({ type: ErrorType.SiteRejected, nonRetryable: true });
      for (const secret of secrets) expect(err.message).not.toContain(secret);
      messages.push(err.message.replace(/^glance site \S+: /, ''));
    }
    expect(messages[0]).toMatch(/the pre-issued token has expired; issue a new one/);
    expect(messages[1]).toMatch(/refused the site's token \(401: expired or revoked\)/);
    expect(messages[2]).toMatch(/Keystone .* refused the application-credential credentials \(401\)/);
    expect(messages[3]).toMatch(/does not accept the pre-issued token \(40[14]: expired or revoked\)/);
  });

  it('Keystone down: a retryable SiteUnavailable', async () => {
    const site = await glanceSite(dir, { cloudsYaml: { file: await cloudsYaml('down', PASSWORD), cloud: 'down' } });
    await keystone.stop();
    const err = await failureOf(site.lookup(newGuid()));
    expect(err).toMatchObject({ type: ErrorType.SiteUnavailable, nonRetryable: false });
    expect(err.message).toMatch(/Keystone .* could not be reached \(ECONNREFUSED\)/);
    expect(err.message).not.toContain(PASSWORD);
  });
});
