/**
 * Options of a `glance` site (OpenStack Image service): the config entry, validated with the rest
 * of the config, and the settings the worker resolves from it at start (the credentials file and
 * an optional password file). Errors name the site and the file or field at fault, never a value.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CloudsYamlError, credentialsFromCloudsYaml } from './clouds-yaml.js';
import { credentialsFromOpenrc } from './openrc.js';
import { missingAuthFields, type OpenStackAuth, type OpenStackCredentials } from './openstack-credentials.js';

export const GLANCE_SITE_TYPE = 'glance';

export const GlanceSiteSchema = z
  .object({
    type: z.literal(GLANCE_SITE_TYPE),
    /** A `clouds.yaml` (relative to the config file's directory) and the cloud entry in it to use. */
    cloudsYaml: z.object({ file: z.string().min(1), cloud: z.string().min(1) }).strict().optional(),
    /** An `openrc` file as the dashboard issues it; read as data, never executed. */
    openrc: z.string().min(1).optional(),
    /** A file holding a token issued elsewhere (one line); used as is, never renewed. */
    tokenFile: z.string().min(1).optional(),
    /** A file holding the password, for an openrc that asks for it (`read -sr OS_PASSWORD_INPUT`). */
    passwordFile: z.string().min(1).optional(),
    /** No Keystone at all (a Glance with `[paste_deploy] flavor =` empty); needs `imageUrl`. @default false */
    noAuth: z.boolean().default(false),
    /** Keystone v3 URL for a `tokenFile` (to read the catalog); else the credentials file's. */
    authUrl: z.string().url().optional(),
    /** The Image API endpoint (`http://host:9292`) instead of the catalog's. */
    imageUrl: z.string().url().optional(),
    /** Catalog interface of the image endpoint. @default the credentials file's, else "public" */
    interface: z.enum(['public', 'internal', 'admin']).optional(),
    /** Catalog region. @default the credentials file's, else the first image endpoint */
    region: z.string().min(1).optional(),
    /** Visibility of the images ImageProxy registers ("public" needs an admin). @default "private" */
    visibility: z.enum(['private', 'shared', 'community', 'public']).default('private'),
    /** Extra properties set on every image (e.g. `{"hw_disk_bus": "virtio"}`). @default {} */
    properties: z
      .record(
        z.string().regex(/^[A-Za-z0-9_:.-]{1,255}$/, 'property names are letters, digits, "_", ":", "." and "-"'),
        z.string().max(65535),
      )
      .default({}),
    /**
     * How data reaches Glance: `upload` (`PUT /v2/images/{id}/file`) or `glance-direct` (stage,
     * then the interoperable import; the site must enable it). @default "upload"
     */
    importMethod: z.enum(['upload', 'glance-direct']).default('upload'),
    /** Glance's `hashing_algorithm` (its `os_hash_algo`), computed during the upload. @default "sha512" */
    hashAlgorithm: z.enum(['sha256', 'sha384', 'sha512']).default('sha512'),
    /**
     * Glance cannot see instances (that is Nova's). `unknown`: the clean-up treats every image as
     * in use and never removes one; `never`: the operator vouches that nothing boots them after
     * they expire, and the clean-up removes them. @default "unknown"
     */
    imagesInUse: z.enum(['unknown', 'never']).default('unknown'),
    /** Seconds an image may take to become `active` before the attempt is undone. @default 1800 */
    registrationTimeoutSeconds: z.number().int().min(0).default(1800),
    /** Seconds between polls of an image's status. @default 2 */
    pollIntervalSeconds: z.number().positive().default(2),
  })
  .strict();

export type GlanceSiteConfig = z.infer<typeof GlanceSiteSchema>;

/**
 * The checks across fields (a discriminated union member cannot carry refinements): the config
 * schema reports these with the site's path; the worker checks them again at start.
 */
export function glanceConfigProblems(c: GlanceSiteConfig): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  const sources = [c.cloudsYaml, c.openrc, c.tokenFile, c.noAuth ? true : undefined].filter((x) => x !== undefined);
  if (sources.length !== 1) problems.push({ path: [], message: 'give exactly one of cloudsYaml, openrc, tokenFile, noAuth' });
  if (c.noAuth && c.imageUrl === undefined) problems.push({ path: ['imageUrl'], message: 'noAuth needs imageUrl' });
  return problems;
}

/** Everything the backend needs, resolved and checked. Holds secrets: keep it on the worker. */
export interface GlanceSiteSettings {
  site: string;
  auth: OpenStackAuth;
  imageUrl?: string;
  interface: 'public' | 'internal' | 'admin';
  region?: string;
  visibility: GlanceSiteConfig['visibility'];
  properties: Record<string, string>;
  importMethod: GlanceSiteConfig['importMethod'];
  hashAlgorithm: GlanceSiteConfig['hashAlgorithm'];
  imagesInUse: GlanceSiteConfig['imagesInUse'];
  registrationTimeoutMs: number;
  pollIntervalMs: number;
}

/** A site whose options cannot work; the message names the site and what is wrong. */
export class GlanceConfigError extends Error {
  constructor(
    readonly site: string,
    detail: string,
  ) {
    super(`glance site ${site}: ${detail}`);
    this.name = 'GlanceConfigError';
  }
}

/** Read the credentials file (and password or token file) and check every needed field is there. */
export async function resolveGlanceSite(config: GlanceSiteConfig, ctx: { site: string; configDir: string }): Promise<GlanceSiteSettings> {
  const fail = (detail: string): never => {
    throw new GlanceConfigError(ctx.site, detail);
  };
  for (const problem of glanceConfigProblems(config)) fail(problem.message);
  const read = async (what: string, file: string): Promise<{ path: string; text: string }> => {
    const path = resolve(ctx.configDir, file);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => fail(`cannot read ${what} ${path} (${err.code ?? err.message})`));
    return { path, text };
  };

  let creds: OpenStackCredentials;
  let source: string;
  if (config.cloudsYaml) {
    const { path, text } = await read('clouds.yaml', config.cloudsYaml.file);
    source = `${path} (cloud ${config.cloudsYaml.cloud})`;
    try {
      creds = credentialsFromCloudsYaml(text, config.cloudsYaml.cloud);
    } catch (err) {
      if (err instanceof CloudsYamlError) return fail(`clouds.yaml ${path} ${err.message}`);
      throw err;
    }
  } else if (config.openrc) {
    const { path, text } = await read('openrc', config.openrc);
    source = `openrc ${path}`;
    creds = credentialsFromOpenrc(text, dirname(path));
  } else if (config.tokenFile) {
    const { path, text } = await read('tokenFile', config.tokenFile);
    source = `tokenFile ${path}`;
    creds = { auth: { kind: 'token', token: text.trim(), ...(config.authUrl ? { authUrl: config.authUrl } : {}) } };
  } else {
    source = 'noAuth';
    creds = { auth: { kind: 'none' } };
  }

  let auth = creds.auth;
  if (config.passwordFile) {
    if (auth.kind !== 'password') fail(`passwordFile is given but ${source} does not use a password`);
    const { text } = await read('passwordFile', config.passwordFile);
    auth = { ...(auth as Extract<OpenStackAuth, { kind: 'password' }>), password: text.replace(/\r?\n$/, '') };
  }
  if (config.authUrl && auth.kind !== 'none') auth = { ...auth, authUrl: config.authUrl };
  const missing = missingAuthFields(auth);
  if (missing.length > 0) fail(`${source} sets no ${missing.join(', ')}`);
  if ((auth.kind === 'password' || auth.kind === 'application-credential') && !/^https?:\/\/[^/]/.test(auth.authUrl)) {
    fail(`${source} sets no http(s) auth_url (OS_AUTH_URL)`);
  }
  const imageUrl = config.imageUrl ?? creds.imageUrl;
  if (!imageUrl && (auth.kind === 'none' || (auth.kind === 'token' && !auth.authUrl))) {
    fail(`${source} gives no Keystone to read the catalog from: set imageUrl (or authUrl for a token)`);
  }
  if (imageUrl && !/^https?:\/\/[^/]/.test(imageUrl)) fail(`imageUrl ${imageUrl} is not an http(s) URL`);

  const region = config.region ?? creds.regionName;
  return {
    site: ctx.site,
    auth,
    ...(imageUrl ? { imageUrl } : {}),
    interface: config.interface ?? creds.interface ?? 'public',
    ...(region ? { region } : {}),
    visibility: config.visibility,
    properties: config.properties,
    importMethod: config.importMethod,
    hashAlgorithm: config.hashAlgorithm,
    imagesInUse: config.imagesInUse,
    registrationTimeoutMs: config.registrationTimeoutSeconds * 1000,
    pollIntervalMs: config.pollIntervalSeconds * 1000,
  };
}
