/** Reading a Glance site's credentials: clouds.yaml entries, openrc files (as data), site options. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromCloudsYaml } from '../../../../activities/sites/glance/clouds-yaml.js';
import { credentialsFromOpenrc } from '../../../../activities/sites/glance/openrc.js';
import { GlanceSiteSchema, glanceConfigProblems, resolveGlanceSite } from '../../../../activities/sites/glance/glance-site-options.js';
import { authRequestBody } from '../../../../activities/sites/glance/keystone-tokens.js';

describe('clouds.yaml', () => {
  const yaml = `
clouds:
  research:
    auth:
      auth_url: https://keystone.example.org:5000
      username: alice
      password: "s3cret: with colon"
      project_name: genomics
      user_domain_name: Default
      project_domain_id: default
    region_name: RegionTwo
    interface: internal
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org:5000/v3
      application_credential_id: 21ab
      application_credential_secret: xyz
`;
  it('reads a password entry', () => {
    expect(credentialsFromCloudsYaml(yaml, 'research')).toEqual({
      auth: {
        kind: 'password',
        authUrl: 'https://keystone.example.org:5000',
        username: 'alice',
        userDomainName: 'Default',
        password: 's3cret: with colon',
        projectName: 'genomics',
        projectDomainId: 'default',
      },
      regionName: 'RegionTwo',
      interface: 'internal',
    });
  });
  it('reads an application credential entry', () => {
    expect(credentialsFromCloudsYaml(yaml, 'appcred').auth).toEqual({ kind: 'application-credential', authUrl: 'https://keystone.example.org:5000/v3', id: '21ab', secret: 'xyz' });
  });
  it('names a missing cloud and the ones there are', () => {
    expect(() => credentialsFromCloudsYaml(yaml, 'nope')).toThrow('has no cloud "nope" (it has: research, appcred)');
  });
  it('a broken file: the line, never its text (it may hold a secret)', () => {
    expect(() => credentialsFromCloudsYaml('clouds:\n  x:\n    auth: {password: "hunter2', 'x')).toThrow(/^is not valid YAML \(line \d+\)$/);
  });
});

describe('openrc', () => {
  it('reads the dashboard file without running it; the prompted password reads empty', () => {
    const text = [
      '#!/usr/bin/env bash',
      'export OS_AUTH_URL=https://keystone.example.org:5000/v3',
      'export OS_PROJECT_ID=0a1b',
      'export OS_PROJECT_NAME="genomics"',
      'export OS_USER_DOMAIN_NAME="Default"',
      'unset OS_TENANT_ID',
      'export OS_USERNAME="alice"',
      'echo "Please enter your OpenStack Password for project $OS_PROJECT_NAME as user $OS_USERNAME: "',
      'read -sr OS_PASSWORD_INPUT',
      'export OS_PASSWORD=$OS_PASSWORD_INPUT',
      'export OS_REGION_NAME="RegionOne"',
      'export OS_INTERFACE=public',
      'export OS_IDENTITY_API_VERSION=3',
    ].join('\n');
    expect(credentialsFromOpenrc(text, '/etc/imageproxy')).toEqual({
      auth: { kind: 'password', authUrl: 'https://keystone.example.org:5000/v3', username: 'alice', userDomainName: 'Default', password: '', projectId: '0a1b', projectName: 'genomics' },
      regionName: 'RegionOne',
      interface: 'public',
    });
  });
  it('reads an application credential; a command substitution is not run', () => {
    const creds = credentialsFromOpenrc('export OS_AUTH_TYPE=v3applicationcredential\nexport OS_AUTH_URL=http://k/v3\nexport OS_APPLICATION_CREDENTIAL_ID=$(cat /etc/id)\nexport OS_APPLICATION_CREDENTIAL_NAME=ci\nexport OS_USERNAME=bob\nexport OS_APPLICATION_CREDENTIAL_SECRET=\'a b\'\n', '/x');
    expect(creds.auth).toEqual({ kind: 'application-credential', authUrl: 'http://k/v3', name: 'ci', username: 'bob', secret: 'a b' });
  });
});

describe('Keystone auth request', () => {
  it('password scoped to a project by name', () => {
    expect(authRequestBody({ kind: 'password', authUrl: 'x', username: 'alice', userDomainName: 'Default', password: 'pw', projectName: 'p', projectDomainId: 'default' })).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'alice', domain: { name: 'Default' }, password: 'pw' } } },
        scope: { project: { name: 'p', domain: { id: 'default' } } },
      },
    });
  });
  it('application credential by id (no scope: it carries its own)', () => {
    expect(authRequestBody({ kind: 'application-credential', authUrl: 'x', id: 'i', secret: 's' })).toEqual({
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'i', secret: 's' } } },
    });
  });
});

describe('glance site options', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glance-options-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const resolve = async (options: Record<string, unknown>) =>
    resolveGlanceSite(GlanceSiteSchema.parse({ type: 'glance', ...options }), { site: 'cloud1', configDir: dir });

  it('exactly one credentials source', () => {
    expect(glanceConfigProblems(GlanceSiteSchema.parse({ type: 'glance', openrc: 'a', tokenFile: 'b' }))).toEqual([
      { path: [], message: 'give exactly one of cloudsYaml, openrc, tokenFile, noAuth' },
    ]);
    expect(glanceConfigProblems(GlanceSiteSchema.parse({ type: 'glance', noAuth: true }))).toEqual([{ path: ['imageUrl'], message: 'noAuth needs imageUrl' }]);
  });
  it('an openrc with a prompted password takes it from passwordFile', async () => {
    await writeFile(join(dir, 'openrc'), 'export OS_AUTH_URL=http://k:5000/v3\nexport OS_USERNAME=alice\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_ID=p1\nexport OS_PASSWORD=$OS_PASSWORD_INPUT\n');
    await writeFile(join(dir, 'pw'), 'the password\n');
    const settings = await resolve({ openrc: 'openrc', passwordFile: 'pw' });
    expect(settings.auth).toMatchObject({ kind: 'password', password: 'the password', username: 'alice' });
    await expect(resolve({ openrc: 'openrc' })).rejects.toThrow(`glance site cloud1: openrc ${join(dir, 'openrc')} sets no password`);
  });
  it('names the missing file and the missing fields, never a value', async () => {
    await expect(resolve({ tokenFile: 'no-such-token' })).rejects.toThrow(`glance site cloud1: cannot read tokenFile ${join(dir, 'no-such-token')} (ENOENT)`);
    await writeFile(join(dir, 'clouds.yaml'), 'clouds:\n  c:\n    auth:\n      password: hunter2\n');
    const err = await resolve({ cloudsYaml: { file: 'clouds.yaml', cloud: 'c' } }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/sets no username or user_id/);
    expect((err as Error).message).not.toContain('hunter2');
  });
  it('a token without Keystone needs the image endpoint', async () => {
    await writeFile(join(dir, 'token'), 'gAAAAtoken\n');
    await expect(resolve({ tokenFile: 'token' })).rejects.toThrow(/set imageUrl \(or authUrl for a token\)/);
    expect((await resolve({ tokenFile: 'token', imageUrl: 'http://g:9292' })).auth).toEqual({ kind: 'token', token: 'gAAAAtoken' });
  });
});
