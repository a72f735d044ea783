/**
 * The credentials of an OpenStack site as the worker holds them, whichever file they came from
 * (`clouds.yaml` entry or `openrc`). Holds secrets: stays on the worker, never in payloads or logs.
 */

/** Keystone v3 user and project, by name (with domain) or by id. */
export interface KeystoneScope {
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
}

export type OpenStackAuth =
  | ({
      kind: 'password';
      authUrl: string;
      userId?: string;
      username?: string;
      userDomainId?: string;
      userDomainName?: string;
      password: string;
    } & KeystoneScope)
  | {
      kind: 'application-credential';
      authUrl: string;
      /** By id, or by name with the user who owns it. */
      id?: string;
      name?: string;
      userId?: string;
      username?: string;
      userDomainId?: string;
      userDomainName?: string;
      secret: string;
    }
  | {
      /** A token issued elsewhere: used as is, never renewed (Keystone still answers its catalog). */
      kind: 'token';
      token: string;
      authUrl?: string;
    }
  | {
      /** A Glance run without Keystone (`[paste_deploy] flavor =` empty): no token at all. */
      kind: 'none';
    };

export interface OpenStackCredentials {
  auth: OpenStackAuth;
  regionName?: string;
  /** Catalog interface of the image endpoint. */
  interface?: 'public' | 'internal' | 'admin';
  /** The Image API endpoint instead of the catalog's. */
  imageUrl?: string;
}

/** The identity fields of an auth that are missing, for an error that names them (never values). */
export function missingAuthFields(auth: OpenStackAuth): string[] {
  const missing: string[] = [];
  if (auth.kind === 'password') {
    if (!auth.password) missing.push('password');
    if (!auth.userId && !auth.username) missing.push('username or user_id');
    if (auth.username && !auth.userId && !auth.userDomainId && !auth.userDomainName) missing.push('user_domain_name or user_domain_id');
    if (auth.projectName && !auth.projectId && !auth.projectDomainId && !auth.projectDomainName) {
      missing.push('project_domain_name or project_domain_id');
    }
  } else if (auth.kind === 'application-credential') {
    if (!auth.secret) missing.push('application_credential_secret');
    if (!auth.id && !auth.name) missing.push('application_credential_id or application_credential_name');
    if (!auth.id && auth.name && !auth.userId && !auth.username) missing.push('username or user_id (with an application credential name)');
  } else if (auth.kind === 'token' && !auth.token) {
    missing.push('token');
  }
  return missing;
}

/** Normalise an OpenStack interface name (`publicURL` as old openrc files spell it). */
export function interfaceOf(value: string | undefined): OpenStackCredentials['interface'] {
  if (!value) return undefined;
  const v = value.toLowerCase().replace(/url$/, '');
  return v === 'public' || v === 'internal' || v === 'admin' ? v : undefined;
}
