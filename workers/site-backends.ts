/** Builds the backend of a configured site. Each backend validates its own options here. */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SiteConfig } from '../config/config-schema.js';
import { createLocalSite } from '../activities/sites/local/local-site.js';
import type { SiteBackend } from '../activities/sites/site-backend.js';
import { createEucalyptusSite } from '../activities/sites/eucalyptus/eucalyptus-site.js';
import { resolveEucalyptusSite } from '../activities/sites/eucalyptus/eucalyptus-site-options.js';
import { createGlanceSite } from '../activities/sites/glance/glance-site.js';
import { resolveGlanceSite } from '../activities/sites/glance/glance-site-options.js';
import { createXcatSite } from '../activities/sites/xcat/xcat-site.js';
import { parseXcatSiteOptions } from '../activities/sites/xcat/xcat-site-options.js';

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
    case 'xcat': {
      const options = parseXcatSiteOptions(ctx.site, config);
      const keyPath = resolve(ctx.configDir, options.privateKeyPath);
      const privateKey = await readFile(keyPath).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`xcat site ${ctx.site}: cannot read privateKeyPath ${keyPath}: ${err.code ?? err.message}`);
      });
      let passphrase: string | undefined;
      if (options.privateKeyPassphraseFile !== undefined) {
        const file = resolve(ctx.configDir, options.privateKeyPassphraseFile);
        passphrase = (
          await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new Error(`xcat site ${ctx.site}: cannot read privateKeyPassphraseFile ${file}: ${err.code ?? err.message}`);
          })
        ).replace(/\r?\n$/, '');
      }
      return createXcatSite({ site: ctx.site, config: options, privateKey, ...(passphrase !== undefined ? { passphrase } : {}) });
    }
    case 'eucalyptus':
      return createEucalyptusSite({
        settings: await resolveEucalyptusSite(config, { site: ctx.site, configDir: ctx.configDir }),
        workDir: join(ctx.dataDir, 'tmp', 'eucalyptus', ctx.site),
      });
    case 'glance':
      return createGlanceSite({ settings: await resolveGlanceSite(config, { site: ctx.site, configDir: ctx.configDir }) });
  }
}
