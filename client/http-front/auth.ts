/**
 * Authentication of the HTTP front: HTTP Basic or a bearer token, from the config. Candidates are
 * compared by SHA-256 digest in constant time; no secret is ever logged or echoed. A caller gets a
 * Grant saying which sites and operations it may use (limited bearer tokens; everything otherwise).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import type { FrontOperation, HttpFrontConfig } from '../../config/config-schema.js';

/** What an authenticated caller may do. */
export interface Grant {
  may(site: string, operation: FrontOperation): boolean;
}

export const FULL_GRANT: Grant = { may: () => true };

export interface Authenticator {
  /** True when some authentication is configured. */
  readonly required: boolean;
  /** True when the request carries accepted credentials (always true when none are required). */
  allows(req: IncomingMessage): boolean;
  /** The caller's rights, or undefined when its credentials are not accepted. */
  grantOf(req: IncomingMessage): Grant | undefined;
  /** The `WWW-Authenticate` challenge for a 401. */
  readonly challenge: string;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

interface AcceptedToken {
  digest: Buffer;
  grant: Grant;
}

/** The grant of the matching token; every token is compared (no early exit). */
function grantOfToken(candidate: Buffer, accepted: readonly AcceptedToken[]): Grant | undefined {
  let hit: Grant | undefined;
  for (const a of accepted) if (timingSafeEqual(candidate, a.digest) && !hit) hit = a.grant;
  return hit;
}

function limitedGrant(sites: readonly string[], operations: readonly FrontOperation[]): Grant {
  const everySite = sites.includes('*');
  return { may: (site, operation) => (everySite || sites.includes(site)) && operations.includes(operation) };
}

const tokenLines = (text: string): string[] =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((token) => token && !token.startsWith('#'));

/** Build the authenticator; reads the secret files once, with errors naming the file (not its content). */
export async function createAuthenticator(config: HttpFrontConfig, configDir: string): Promise<Authenticator> {
  const readSecret = async (file: string, what: string): Promise<string> => {
    const path = resolve(configDir, file);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`httpFront.${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };

  let basic: { user: Buffer; password: Buffer } | undefined;
  if (config.basicAuth) {
    const { user, passwordFile, passwordSha256 } = config.basicAuth;
    const password = passwordFile
      ? sha256((await readSecret(passwordFile, 'basicAuth.passwordFile')).replace(/\r?\n$/, ''))
      : Buffer.from(passwordSha256!, 'hex');
    basic = { user: sha256(user), password };
  }
  const tokens: AcceptedToken[] = (config.bearerTokenSha256 ?? []).map((h) => ({ digest: Buffer.from(h, 'hex'), grant: FULL_GRANT }));
  if (config.bearerTokenFile) {
    const text = await readSecret(config.bearerTokenFile, 'bearerTokenFile');
    for (const token of tokenLines(text)) tokens.push({ digest: sha256(token), grant: FULL_GRANT });
  }
  for (const [i, limited] of (config.bearerTokens ?? []).entries()) {
    const grant = limitedGrant(limited.sites, limited.operations);
    if (limited.tokenSha256) tokens.push({ digest: Buffer.from(limited.tokenSha256, 'hex'), grant });
    if (limited.tokenFile) {
      const text = await readSecret(limited.tokenFile, `bearerTokens[${i}].tokenFile`);
      for (const token of tokenLines(text)) tokens.push({ digest: sha256(token), grant });
    }
  }
  const required = basic !== undefined || tokens.length > 0;
  const grantOf = (req: IncomingMessage): Grant | undefined => {
    if (!required) return FULL_GRANT;
    const header = req.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer' && tokens.length > 0) return grantOfToken(sha256(value), tokens);
    if (scheme === 'basic' && basic) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const userOk = timingSafeEqual(sha256(decoded.slice(0, colon)), basic.user);
      const passwordOk = timingSafeEqual(sha256(decoded.slice(colon + 1)), basic.password);
      return userOk && passwordOk ? FULL_GRANT : undefined;
    }
    return undefined;
  };
  return {
    required,
    challenge: basic ? 'Basic realm="imageproxy", charset="UTF-8"' : 'Bearer realm="imageproxy"',
    allows: (req) => grantOf(req) !== undefined,
    grantOf,
  };
}
