/**
 * Tokens for a Glance site from Keystone v3: password or application credential (issued on first
 * use, cached, renewed before they expire and when Glance answers 401), or a token issued elsewhere
 * (used as is; when it is refused, nothing can renew it). Also finds the image endpoint in the
 * catalog. The secrets stay in this closure; failures name the site and Keystone, never a value.
 */
import { httpFailure, siteRejected, unreachable } from './glance-failures.js';
import type { OpenStackAuth } from './openstack-credentials.js';

export interface TokenSource {
  /** A token valid now, or undefined for a site without Keystone. */
  token(signal?: AbortSignal): Promise<string | undefined>;
  /** Glance refused `token`: forget it. Answers whether a new one can be had. */
  refused(token: string | undefined): boolean;
  /** Base URL of the Image API (without `/v2`). */
  imageUrl(signal?: AbortSignal): Promise<string>;
  /** Tokens issued by Keystone so far (tests watch renewal). */
  readonly issued: number;
}

export interface TokenSourceOptions {
  site: string;
  auth: OpenStackAuth;
  imageUrl?: string;
  interface: 'public' | 'internal' | 'admin';
  region?: string;
  /** Renew this long before expiry at most (a quarter of the lifetime when that is shorter). @default 60000 */
  renewBeforeMs?: number;
  /** The time now, in ms (tests move it forward to see renewal without waiting an hour). @default Date.now */
  clock?: () => number;
}

interface CatalogEntry {
  type?: string;
  endpoints?: { interface?: string; region?: string; region_id?: string; url?: string }[];
}
interface TokenBody {
  token?: { expires_at?: string; issued_at?: string; catalog?: CatalogEntry[] };
}
interface Issued {
  value: string;
  renewAt: number;
  catalog: CatalogEntry[];
}

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const { site, auth } = options;
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  const now = options.clock ?? Date.now;
  let current: Issued | undefined;
  let pending: Promise<Issued> | undefined;
  let issued = 0;
  let preIssuedRefused = false;

  const identityUrl = (base: string): string => {
    const trimmed = base.replace(/\/+$/, '');
    return `${/\/v3$/.test(trimmed) ? trimmed : `${trimmed}/v3`}/auth/tokens`;
  };

  async function askKeystone(signal?: AbortSignal): Promise<Issued> {
    if (auth.kind === 'none') throw new Error('no Keystone for this site');
    if (auth.kind === 'token' && !auth.authUrl) return { value: auth.token, renewAt: Infinity, catalog: [] };
    const url = identityUrl(auth.authUrl ?? '');
    let response: Response;
    try {
      response =
        auth.kind === 'token'
          ? await fetch(url, { headers: { 'X-Auth-Token': auth.token, 'X-Subject-Token': auth.token }, ...(signal ? { signal } : {}) })
          : await fetch(url, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(authRequestBody(auth)),
              ...(signal ? { signal } : {}),
            });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw unreachable(site, `Keystone ${url}`, err);
    }
    const text = await response.text();
    if (auth.kind === 'token' && (response.status === 404 || response.status === 401)) {
      throw siteRejected(site, `Keystone ${url} does not accept the pre-issued token (${response.status}: expired or revoked); issue a new one`);
    }
    if (response.status === 401 || response.status === 403) {
      throw siteRejected(
        site,
        `Keystone ${url} refused the ${auth.kind === 'token' ? 'pre-issued token' : `${auth.kind} credentials`} (${response.status}); check the credentials file`,
      );
    }
    if (!response.ok) throw httpFailure(site, `Keystone ${url}`, response.status, text);
    const value = auth.kind === 'token' ? auth.token : response.headers.get('x-subject-token');
    if (!value) throw httpFailure(site, `Keystone ${url}`, 502, 'no X-Subject-Token in the answer');
    const body = JSON.parse(text) as TokenBody;
    const expires = Date.parse(body.token?.expires_at ?? '');
    const issuedAt = Date.parse(body.token?.issued_at ?? '') || now();
    const lifetime = Number.isFinite(expires) ? expires - issuedAt : Infinity;
    const margin = auth.kind === 'token' ? 0 : Math.min(renewBeforeMs, lifetime / 4);
    const renewAt = Number.isFinite(expires) ? expires - margin : Infinity;
    if (auth.kind !== 'token') issued++;
    return { value, renewAt, catalog: body.token?.catalog ?? [] };
  }

  async function current_(signal?: AbortSignal): Promise<Issued> {
    if (current && now() < current.renewAt) return current;
    if (auth.kind === 'token' && current) {
      throw siteRejected(site, 'the pre-issued token has expired; issue a new one (a token file is never renewed)');
    }
    pending ??= askKeystone(signal).finally(() => {
      pending = undefined;
    });
    current = await pending;
    return current;
  }

  return {
    get issued() {
      return issued;
    },
    async token(signal) {
      if (auth.kind === 'none') return undefined;
      if (preIssuedRefused) throw siteRejected(site, 'Glance refused the pre-issued token (expired or revoked); issue a new one');
      return (await current_(signal)).value;
    },
    refused(token) {
      if (auth.kind === 'none') return false;
      if (auth.kind === 'token') {
        preIssuedRefused = true;
        return false;
      }
      if (current?.value === token) current = undefined;
      return true;
    },
    async imageUrl(signal) {
      if (options.imageUrl) return options.imageUrl.replace(/\/+$/, '').replace(/\/v2$/, '');
      const { catalog } = await current_(signal);
      const endpoints = catalog.filter((c) => c.type === 'image').flatMap((c) => c.endpoints ?? []);
      const found = endpoints.find(
        (e) => e.interface === options.interface && (!options.region || e.region_id === options.region || e.region === options.region),
      );
      if (!found?.url) {
        throw siteRejected(
          site,
          `the Keystone catalog has no ${options.interface} image endpoint${options.region ? ` in region ${options.region}` : ''}; set imageUrl`,
        );
      }
      return found.url.replace(/\/+$/, '').replace(/\/v2$/, '');
    },
  };
}

/** The body of `POST /v3/auth/tokens` for a password or an application credential. Pure. */
export function authRequestBody(auth: Extract<OpenStackAuth, { kind: 'password' | 'application-credential' }>): unknown {
  const domain = (id?: string, name?: string): object | undefined => (id ? { id } : name ? { name } : undefined);
  const user = auth.userId
    ? { id: auth.userId }
    : { name: auth.username, domain: domain(auth.userDomainId, auth.userDomainName) ?? { id: 'default' } };
  if (auth.kind === 'application-credential') {
    const credential = auth.id ? { id: auth.id, secret: auth.secret } : { name: auth.name, secret: auth.secret, user };
    return { auth: { identity: { methods: ['application_credential'], application_credential: credential } } };
  }
  const project = auth.projectId
    ? { id: auth.projectId }
    : auth.projectName
      ? { name: auth.projectName, domain: domain(auth.projectDomainId, auth.projectDomainName) ?? { id: 'default' } }
      : undefined;
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { ...user, password: auth.password } } },
      ...(project ? { scope: { project } } : {}),
    },
  };
}
