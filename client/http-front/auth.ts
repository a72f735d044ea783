/**
 * Authentication of the HTTP front: HTTP Basic or a bearer token, from the config. Candidates are
 * compared by SHA-256 digest in constant time; no secret is ever logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import type { HttpFrontConfig } from '../../config/config-schema.js';

export interface Authenticator {
  /** True when some authentication is configured. */
  readonly required: boolean;
  /** True when the request carries accepted credentials (always true when none are required). */
  allows(req: IncomingMessage): boolean;
  /** The `WWW-Authenticate` challenge for a 401. */
  readonly challenge: string;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function anyEqual(candidate: Buffer, accepted: readonly Buffer[]): boolean {
  let hit = false;
  for (const a of accepted) hit = timingSafeEqual(candidate, a) || hit; // no early exit
  return hit;
}

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
  const tokens: Buffer[] = (config.bearerTokenSha256 ?? []).map((h) => Buffer.from(h, 'hex'));
  if (config.bearerTokenFile) {
    const text = await readSecret(config.bearerTokenFile, 'bearerTokenFile');
    for (const line of text.split(/\r?\n/)) {
      const token = line.trim();
      if (token && !token.startsWith('#')) tokens.push(sha256(token));
    }
  }
  const required = basic !== undefined || tokens.length > 0;
  return {
    required,
    challenge: basic ? 'Basic realm="imageproxy", charset="UTF-8"' : 'Bearer realm="imageproxy"',
    allows(req) {
      if (!required) return true;
      const header = req.headers.authorization ?? '';
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (scheme === 'bearer' && tokens.length > 0) return anyEqual(sha256(value), tokens);
      if (scheme === 'basic' && basic) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return false;
        const userOk = timingSafeEqual(sha256(decoded.slice(0, colon)), basic.user);
        const passwordOk = timingSafeEqual(sha256(decoded.slice(colon + 1)), basic.password);
        return userOk && passwordOk;
      }
      return false;
    },
  };
}
