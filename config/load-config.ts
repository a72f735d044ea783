/** Finding and reading the configuration file, with errors that name the file and the key. */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigSchema, type Config } from './config-schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** Data directory: `IMAGEPROXY_DATA_DIR`, else `./.imageproxy`. */
export function dataDirFrom(env: NodeJS.ProcessEnv = process.env, explicit?: string): string {
  return resolve(explicit ?? env.IMAGEPROXY_DATA_DIR ?? '.imageproxy');
}

/** Stable id of this worker host; its per-host task queue is named after it. */
export function hostIdFrom(env: NodeJS.ProcessEnv = process.env): string {
  return (env.IMAGEPROXY_HOST_ID ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The configuration used when there is no file: one `local` site. */
export const DEFAULT_CONFIG: Config = ConfigSchema.parse({ sites: { local: { type: 'local' } } });

/**
 * Read the config from `explicit`, `IMAGEPROXY_CONFIG` or `<data>/config.json`.
 * A missing default file means the single `local` site; a missing named file is an error.
 */
export async function loadConfig(opts: { dataDir: string; path?: string; env?: NodeJS.ProcessEnv }): Promise<Config> {
  const env = opts.env ?? process.env;
  const named = opts.path ?? env.IMAGEPROXY_CONFIG;
  const file = resolve(named ?? join(opts.dataDir, 'config.json'));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && named === undefined) return DEFAULT_CONFIG;
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(file, lines.join('; '));
  }
  return parsed.data;
}

export function defaultSiteOf(config: Config): string {
  return config.defaultSite ?? Object.keys(config.sites)[0]!;
}
