/** Start the HTTP front for a loaded config: its sites, default site and authentication. */
import type { Logger } from 'pino';
import type { Config } from '../../config/config-schema.js';
import { defaultSiteOf } from '../../config/load-config.js';
import type { ImageProxyClient } from '../image-proxy-client.js';
import { createAuthenticator } from './auth.js';
import { startHttpFront, type HttpFront } from './server.js';

export interface FrontFromConfigOptions {
  config: Config;
  /** Directory of the config file; secret files are found relative to it. */
  configDir: string;
  client: ImageProxyClient;
  logger: Logger;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 8080 */
  port?: number;
  /** Allow a non-loopback address without authentication. */
  insecure?: boolean;
}

export async function startFrontFromConfig(options: FrontFromConfigOptions): Promise<HttpFront> {
  const auth = await createAuthenticator(options.config.httpFront, options.configDir);
  return startHttpFront({
    client: options.client,
    sites: Object.keys(options.config.sites),
    defaultSite: defaultSiteOf(options.config),
    auth,
    logger: options.logger,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
  });
}
