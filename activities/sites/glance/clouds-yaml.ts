/**
 * One entry of a `clouds.yaml` (the file openstacksdk and the `openstack` CLI read): its `auth`
 * block, `auth_type`, `region_name`, `interface` and `image_endpoint_override`. Pure; no I/O.
 * (`secure.yaml` and profile merging are not read: put the whole entry in one file.)
 */
import { load } from 'js-yaml';
import { interfaceOf, type OpenStackAuth, type OpenStackCredentials } from './openstack-credentials.js';
import { opt } from './openrc.js';

/** Thrown for a file that is not a clouds.yaml or has no such cloud; the message names the cloud, not secrets. */
export class CloudsYamlError extends Error {}

export function credentialsFromCloudsYaml(text: string, cloud: string): OpenStackCredentials {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (err) {
    // js-yaml quotes the offending line, which may hold a secret: keep only the position.
    const mark = (err as { mark?: { line?: number } }).mark;
    throw new CloudsYamlError(`is not valid YAML${mark?.line !== undefined ? ` (line ${mark.line + 1})` : ''}`);
  }
  const clouds = record(record(doc)?.clouds);
  if (!clouds) throw new CloudsYamlError('has no "clouds:" mapping');
  const entry = record(clouds[cloud]);
  if (!entry) throw new CloudsYamlError(`has no cloud "${cloud}" (it has: ${Object.keys(clouds).join(', ') || 'none'})`);
  const a = record(entry.auth) ?? {};
  const s = (from: Record<string, unknown>, key: string): string | undefined => {
    const value = from[key];
    return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
  };
  const authType = (s(entry, 'auth_type') ?? '').toLowerCase();
  const authUrl = s(a, 'auth_url') ?? '';
  const user = {
    ...opt('userId', s(a, 'user_id')),
    ...opt('username', s(a, 'username')),
    ...opt('userDomainId', s(a, 'user_domain_id') ?? s(a, 'domain_id')),
    ...opt('userDomainName', s(a, 'user_domain_name') ?? s(a, 'domain_name')),
  };
  let auth: OpenStackAuth;
  if (authType === 'none' || authType === 'noauth') {
    auth = { kind: 'none' };
  } else if (authType.includes('applicationcredential') || (!authType && s(a, 'application_credential_secret'))) {
    auth = {
      kind: 'application-credential',
      authUrl,
      ...opt('id', s(a, 'application_credential_id')),
      ...opt('name', s(a, 'application_credential_name')),
      ...user,
      secret: s(a, 'application_credential_secret') ?? '',
    };
  } else if (authType.includes('token')) {
    auth = { kind: 'token', token: s(a, 'token') ?? '', ...opt('authUrl', authUrl || undefined) };
  } else {
    auth = {
      kind: 'password',
      authUrl,
      ...user,
      password: s(a, 'password') ?? '',
      ...opt('projectId', s(a, 'project_id') ?? s(a, 'tenant_id')),
      ...opt('projectName', s(a, 'project_name') ?? s(a, 'tenant_name')),
      ...opt('projectDomainId', s(a, 'project_domain_id') ?? s(a, 'domain_id')),
      ...opt('projectDomainName', s(a, 'project_domain_name') ?? s(a, 'domain_name')),
    };
  }
  return {
    auth,
    ...opt('regionName', s(entry, 'region_name')),
    ...opt('interface', interfaceOf(s(entry, 'interface') ?? s(entry, 'endpoint_type'))),
    ...opt('imageUrl', s(entry, 'image_endpoint_override')),
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
