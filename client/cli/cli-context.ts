/**
 * What every command module gets: the process (`io`), the global options, the configuration
 * (read on first use) and the exit code to answer.
 */
import { dirname, join } from 'node:path';
import type { Config } from '../../config/config-schema.js';
import { dataDirFrom, defaultSiteOf, loadConfig } from '../../config/load-config.js';
import { UsageError, type CliIo, type ExitCodeValue } from './cli-io.js';

export type LogFormat = 'human' | 'json';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  logFormat?: LogFormat;
}

export interface LoadedConfig {
  dataDir: string;
  config: Config;
  /** Directory of the config file, for relative paths in it. */
  configDir: string;
}

export class CliContext {
  exitCode: ExitCodeValue = 0;
  private loaded: Promise<LoadedConfig> | undefined;

  constructor(
    readonly io: CliIo,
    private readonly globalOptions: () => GlobalOptions,
  ) {}

  get global(): GlobalOptions {
    return this.globalOptions();
  }

  /** The configuration file as the global options and the environment name it. */
  loadConfig(): Promise<LoadedConfig> {
    this.loaded ??= (async () => {
      const opts = this.global;
      const dataDir = dataDirFrom(this.io.env, opts.dataDir);
      const named = opts.config ?? this.io.env.IMAGEPROXY_CONFIG;
      const configPath = named ?? join(dataDir, 'config.json');
      const config = await loadConfig({ dataDir, env: this.io.env, ...(opts.config ? { path: opts.config } : {}) });
      return { dataDir, config, configDir: dirname(configPath) };
    })();
    return this.loaded;
  }

  /** `site` if the config has it, the config's default site when absent; else a usage error naming the configured sites. */
  async siteOrDefault(site: string | undefined): Promise<string> {
    const { config } = await this.loadConfig();
    if (site === undefined) return defaultSiteOf(config);
    return (await this.knownSites([site]))[0]!;
  }

  /** Every site in `sites`, checked against the config before anything starts. */
  async knownSites(sites: readonly string[]): Promise<string[]> {
    const { config } = await this.loadConfig();
    const configured = Object.keys(config.sites);
    const unknown = sites.filter((s) => !configured.includes(s));
    if (unknown.length > 0) {
      const names = unknown.map((s) => JSON.stringify(s)).join(', ');
      throw new UsageError(`no site ${names} in the config; configured sites: ${configured.join(', ')}`);
    }
    return [...sites];
  }

  /** Raise the exit code (a failure is never downgraded to a partial one). */
  fail(code: ExitCodeValue): void {
    if (code > this.exitCode || code === 64) this.exitCode = code;
  }

  /** One JSON document on stdout. */
  printJson(value: unknown): void {
    this.io.out(`${JSON.stringify(value)}\n`);
  }

  print(line: string): void {
    this.io.out(`${line}\n`);
  }
}
