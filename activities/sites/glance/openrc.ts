/**
 * An `openrc` file as OpenStack dashboards issue it (`export OS_AUTH_URL=…` lines), read as data and
 * never executed, with the same shell-word reader the Eucalyptus site uses for its `eucarc`. The
 * dashboard's file asks for the password with `read -sr`; such a password reads as empty, and the
 * site's `passwordFile` supplies it. Pure; no I/O.
 */
import { parseEucarc } from '../eucalyptus/eucarc.js';
import { interfaceOf, type OpenStackAuth, type OpenStackCredentials } from './openstack-credentials.js';

/** The credentials an openrc's variables describe (missing fields are checked by the caller). */
export function credentialsFromOpenrc(text: string, dir: string): OpenStackCredentials {
  const vars = parseEucarc(text, dir);
  const v = (...names: string[]): string | undefined => {
    for (const n of names) if (vars[n]) return vars[n];
    return undefined;
  };
  const authType = (v('OS_AUTH_TYPE') ?? '').toLowerCase();
  const authUrl = v('OS_AUTH_URL') ?? '';
  const user = {
    ...opt('userId', v('OS_USER_ID')),
    ...opt('username', v('OS_USERNAME')),
    ...opt('userDomainId', v('OS_USER_DOMAIN_ID')),
    ...opt('userDomainName', v('OS_USER_DOMAIN_NAME')),
  };
  let auth: OpenStackAuth;
  if (authType === 'none' || authType === 'noauth') {
    auth = { kind: 'none' };
  } else if (authType.includes('applicationcredential') || (!authType && v('OS_APPLICATION_CREDENTIAL_SECRET'))) {
    auth = {
      kind: 'application-credential',
      authUrl,
      ...opt('id', v('OS_APPLICATION_CREDENTIAL_ID')),
      ...opt('name', v('OS_APPLICATION_CREDENTIAL_NAME')),
      ...user,
      secret: v('OS_APPLICATION_CREDENTIAL_SECRET') ?? '',
    };
  } else if (authType.includes('token') || (!authType && v('OS_TOKEN') && !v('OS_PASSWORD'))) {
    auth = { kind: 'token', token: v('OS_TOKEN', 'OS_AUTH_TOKEN') ?? '', ...opt('authUrl', authUrl || undefined) };
  } else {
    auth = {
      kind: 'password',
      authUrl,
      ...user,
      password: v('OS_PASSWORD') ?? '',
      ...opt('projectId', v('OS_PROJECT_ID', 'OS_TENANT_ID')),
      ...opt('projectName', v('OS_PROJECT_NAME', 'OS_TENANT_NAME')),
      ...opt('projectDomainId', v('OS_PROJECT_DOMAIN_ID')),
      ...opt('projectDomainName', v('OS_PROJECT_DOMAIN_NAME')),
    };
  }
  const iface = interfaceOf(v('OS_INTERFACE', 'OS_ENDPOINT_TYPE'));
  return {
    auth,
    ...opt('regionName', v('OS_REGION_NAME')),
    ...opt('interface', iface),
    ...opt('imageUrl', v('OS_IMAGE_URL')),
  };
}

/** `{key: value}` when value is set, `{}` otherwise (exactOptionalPropertyTypes). */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
