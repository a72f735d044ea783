/** Builds the backend of a configured site. Each backend validates its own options here. */
import { join } from 'node:path';
import type { SiteConfig } from '../config/config-schema.js';
import { createLocalSite } from '../activities/sites/local/local-site.js';
import type { SiteBackend } from '../activities/sites/site-backend.js';

export interface BackendContext {
  site: string;
  dataDir: string;
  /** Directory the config file was read from; relative paths in site options start here. */
  configDir: string;
}

export async function createSiteBackend(config: SiteConfig, ctx: BackendContext): Promise<SiteBackend> {
  switch (config.type) {
    case 'local':
      return createLocalSite({ site: ctx.site, dir: config.dir ?? join(ctx.dataDir, 'sites', ctx.site) });
    case 'eucalyptus':
    case 'xcat':
      throw new Error(`site ${ctx.site}: the ${config.type} backend is not available in this build`);
  }
}
