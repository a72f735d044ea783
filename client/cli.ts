/**
 * The `imageproxy` command: run the embedded default (`dev`), run workers (`worker`), and ask for
 * images (`register`, `status`, `list`). `demo` shows the whole path on a generated sample.
 */
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { dataDirFrom, defaultSiteOf, hostIdFrom, loadConfig } from '../config/load-config.js';
import { createLogger } from '../workers/logger.js';
import { startDevEnvironment, startWorkers } from '../workers/dev-environment.js';
import { ImageProxyClient, type ImageStatus } from './image-proxy-client.js';
import { startFrontFromConfig, type FrontFromConfigOptions } from './http-front/front-from-config.js';
import type { HttpFront } from './http-front/server.js';
import type { CollectGarbageInput } from '../common/clean-up-contract.js';
import { normalizeGuid } from '../common/guid.js';
import type { DistributeImageResult } from '../common/distribute-contract.js';
import { SEARCH_ATTRIBUTE_NAMES, type RegisterImageInput, type RegisterImageResult } from '../common/register-contract.js';
import { ensureSearchAttributes } from '../workers/search-attributes.js';
import { progressLine } from './progress-line.js';
import { connectClient as connectTemporal, describeSettings, temporalSettings } from './temporal-connection.js';
import { serveDirectory, sha1Hex, writeSampleImage } from './demo/sample-image.js';
import { workflowUiLink } from './temporal-ui-link.js';

interface CommonOptions {
  config?: string;
  dataDir?: string;
}

async function setup(opts: CommonOptions) {
  const dataDir = dataDirFrom(process.env, opts.dataDir);
  const configPath = opts.config ?? process.env.IMAGEPROXY_CONFIG ?? join(dataDir, 'config.json');
  const config = await loadConfig({ dataDir, ...(opts.config ? { path: opts.config } : {}) });
  return { dataDir, config, configDir: dirname(configPath) };
}

function connectClient(): Promise<ImageProxyClient> {
  return ImageProxyClient.connect();
}

/** The site the user named, else the config's default site. */
async function siteOrDefault(site: string | undefined): Promise<string> {
  return site ?? defaultSiteOf((await setup(program.opts<CommonOptions>())).config);
}

/** Run `fn` with a client connected to TEMPORAL_ADDRESS, closed afterwards whatever happens. */
async function withClient<T>(fn: (client: ImageProxyClient) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface HttpOptions {
  http: boolean;
  httpPort: string;
  httpHost: string;
  insecure?: boolean;
}

function addHttpOptions(command: Command): Command {
  return command
    .option('--http-port <port>', 'port of the SOAP/JSON front (0: any free port)', '8080')
    .option('--http-host <host>', 'address of the SOAP/JSON front', '127.0.0.1')
    .option('--insecure', 'allow a non-loopback --http-host without authentication in the config');
}

/** Start the SOAP/JSON front as the command line says, and say where it listens. */
async function startFront(
  opts: HttpOptions,
  deps: Pick<FrontFromConfigOptions, 'config' | 'configDir' | 'client' | 'logger'>,
): Promise<HttpFront> {
  const front = await startFrontFromConfig({
    ...deps,
    host: opts.httpHost,
    port: Number(opts.httpPort),
    ...(opts.insecure ? { insecure: true } : {}),
  });
  console.log(`SOAP: ${front.url}/axis2/services/IMAGEPROXY?wsdl  JSON: ${front.url}/v1/images`);
  return front;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
}

const program = new Command('imageproxy')
  .description('Register guest images at cloud sites, exactly once, on Temporal')
  .addOption(new Option('--config <file>', 'configuration file (default: $IMAGEPROXY_CONFIG or <data>/config.json)'))
  .addOption(new Option('--data-dir <dir>', 'data directory (default: $IMAGEPROXY_DATA_DIR or ./.imageproxy)'))
  .showHelpAfterError();

addHttpOptions(
  program
    .command('dev')
    .description('start a Temporal dev server (unless TEMPORAL_ADDRESS is set), a worker for every site and the SOAP/JSON front; stays in the foreground')
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .option('--ui-port <port>', 'Temporal UI port', '8233')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (default: off)')
    .option('--no-http', 'do not start the SOAP/JSON front'),
).action(async (opts: { port: string; uiPort: string; metricsPort?: string } & HttpOptions) => {
    const { dataDir, config, configDir } = await setup(program.opts<CommonOptions>());
    const logger = createLogger();
    const env = await startDevEnvironment({
      config,
      configDir,
      dataDir,
      hostId: hostIdFrom(),
      logger,
      port: Number(opts.port),
      uiPort: Number(opts.uiPort),
      ...(opts.metricsPort !== undefined ? { metricsPort: Number(opts.metricsPort) } : {}),
    });
    console.log(`Temporal: ${env.address} (namespace ${env.namespace})`);
    if (env.uiUrl) console.log(`Temporal UI: ${env.uiUrl}`);
    if (env.metricsUrl) console.log(`Metrics: ${env.metricsUrl}`);
    let front;
    let client: ImageProxyClient | undefined;
    try {
      if (opts.http) {
        client = await ImageProxyClient.connect({ settings: env.settings });
        front = await startFront(opts, { config, configDir, client, logger });
      }
    } catch (err) {
      await client?.close();
      await env.stop();
      throw err;
    }
    console.log(`Sites: ${env.workers.map((w) => w.site).join(', ')}; data in ${dataDir}. Ctrl-C stops.`);
    await env.done;
    await front?.close();
    await client?.close();
    await env.stop();
  });

addHttpOptions(
  program.command('serve').description('run only the SOAP/JSON front, against TEMPORAL_ADDRESS (workers run elsewhere); foreground'),
).action(async (opts: HttpOptions) => {
  const { config, configDir } = await setup(program.opts<CommonOptions>());
  const logger = createLogger();
  const client = await connectClient();
  try {
    const front = await startFront(opts, { config, configDir, client, logger });
    await untilSignal();
    await front.close();
  } finally {
    await client.close();
  }
});

program
  .command('worker')
  .description('run the workers of some sites against the Temporal cluster of TEMPORAL_ADDRESS or the profile (TLS, API key: docs/production.md)')
  .option('--site <name...>', 'sites to serve (default: all in the config)')
  .option('--metrics-port <port>', 'serve Prometheus metrics on this port (default: off)')
  .option('--metrics-host <host>', 'address the metrics are served on', '127.0.0.1')
  .option('--shutdown-grace <duration>', 'after SIGTERM, how long running transfers may go on before they stop (they resume on the next worker)', '30s')
  .action(async (opts: { site?: string[]; metricsPort?: string; metricsHost: string; shutdownGrace: string }) => {
    const { dataDir, config, configDir } = await setup(program.opts<CommonOptions>());
    const settings = temporalSettings();
    const { workers, done, deployment, metricsUrl } = await startWorkers({
      config,
      configDir,
      dataDir,
      hostId: hostIdFrom(),
      logger: createLogger(),
      settings,
      shutdownGraceTime: opts.shutdownGrace,
      ...(opts.site ? { sites: opts.site } : {}),
      ...(opts.metricsPort !== undefined ? { metricsPort: Number(opts.metricsPort), metricsHost: opts.metricsHost } : {}),
    });
    console.error(
      `serving sites ${workers.map((w) => w.site).join(', ')} at ${describeSettings(settings)} as ${deployment.deploymentName} ${deployment.buildId}` +
        (metricsUrl ? `; metrics at ${metricsUrl}` : ''),
    );
    await done;
  });

program
  .command('setup')
  .description('prepare the Temporal namespace for ImageProxy (creates the search attributes; safe to run again)')
  .action(async () => {
    const settings = temporalSettings();
    const { connection } = await connectTemporal(settings);
    try {
      const created = await ensureSearchAttributes(connection, settings.namespace);
      console.log(
        created.length > 0
          ? `created search attributes ${created.join(', ')} in namespace ${settings.namespace} at ${settings.address}`
          : `namespace ${settings.namespace} at ${settings.address} already has the search attributes ${SEARCH_ATTRIBUTE_NAMES.join(', ')}: nothing changed`,
      );
    } finally {
      await connection.close();
    }
  });

program
  .command('register')
  .description('register an image at one site, or at many (--site a --site b, --all-sites), and print the ids')
  .requiredOption('--url <url>', 'URL of the image metadata file')
  .requiredOption('--guid <sha1>', 'SHA-1 of the metadata file')
  .option('--site <name>', 'site; repeat for several (default: the config default)', collect, [])
  .option('--all-sites', 'every site in the config')
  .option('--prefetch', "only fill the sites' caches; register nothing")
  .option('--site-timeout <seconds>', 'with several sites: report a site as failed after this long (its run goes on)')
  .option('--json', 'print one JSON line')
  .action(async (opts: { url: string; guid: string; site: string[]; allSites?: boolean; prefetch?: boolean; siteTimeout?: string; json?: boolean }) => {
    const { config } = await setup(program.opts<CommonOptions>());
    const defaultSite = defaultSiteOf(config);
    const sites = opts.allSites ? Object.keys(config.sites) : opts.site.length > 0 ? opts.site : [defaultSite];
    await withClient(async (client) => {
      if (sites.length === 1 && !opts.allSites && !opts.prefetch) {
        const result = await registerShowingProgress(client, { url: opts.url, guid: opts.guid, site: sites[0]! }, { plainLines: !opts.json });
        if (opts.json) console.log(JSON.stringify({ guid: result.guid, site: result.site, ids: result.ids }));
        else {
          console.log(`${result.guid} at ${result.site}${result.alreadyRegistered ? ' (already registered)' : ''}:`);
          for (const [k, v] of Object.entries(result.ids)) console.log(`  ${k}=${v}`);
        }
        return;
      }
      const result = await client.distributeImage({
        url: opts.url,
        guid: opts.guid,
        sites,
        coordinatorSite: defaultSite,
        mode: opts.prefetch ? 'prefetch' : 'register',
        ...(opts.siteTimeout !== undefined ? { siteTimeoutMs: Number(opts.siteTimeout) * 1000 } : {}),
      });
      console.log(opts.json ? JSON.stringify(result) : formatDistribution(result));
      if (result.failed.length > 0) process.exitCode = 2;
    });
  });

program
  .command('deregister')
  .description('remove an image from a site (a deregisterImage workflow run by that site\'s workers)')
  .argument('<guid>')
  .option('--site <name>', 'site (default: the config default)')
  .option('--json', 'print JSON')
  .action(async (guid: string, opts: { site?: string; json?: boolean }) => {
    const site = await siteOrDefault(opts.site);
    await withClient(async (client) => {
      const result = await client.deregister(guid, site);
      console.log(opts.json ? JSON.stringify({ ...result, deregistered: true }) : `${guid} removed from ${site}`);
    });
  });

program
  .command('provision')
  .description("boot bare-metal nodes of a site from an image registered there (xCAT: nodeset <nodes> osimage=<name>)")
  .argument('<guid>')
  .option('--site <name>', 'site (default: the config default)')
  .option('--node <name>', 'a node to provision (repeat for more)', (v: string, all: string[] = []) => [...all, v])
  .option('--json', 'print JSON')
  .action(async (guid: string, opts: { site?: string; node?: string[]; json?: boolean }) => {
    const site = await siteOrDefault(opts.site);
    if (!opts.node?.length) throw new Error('provision needs at least one --node NAME');
    const nodes = opts.node;
    await withClient(async (client) => {
      const result = await client.provisionNodes(guid, site, nodes);
      if (opts.json) console.log(JSON.stringify(result));
      else for (const [node, o] of Object.entries(result.nodes)) console.log(`${node}: ${o.ok ? 'ok' : 'FAILED'}  ${o.detail}`);
      if (result.failed.length > 0) process.exitCode = 2;
    });
  });

program
  .command('status')
  .description('show where the registration of a GUID at a site stands')
  .argument('<guid>')
  .option('--site <name>', 'site (default: the config default)')
  .option('--json', 'print JSON')
  .action(async (guid: string, opts: { site?: string; json?: boolean }) => {
    const site = await siteOrDefault(opts.site);
    await withClient(async (client) => {
      const status = await client.getStatus(guid, site);
      if (!status) {
        if (opts.json) console.log(JSON.stringify({ guid, site, status: 'UNKNOWN' }));
        else console.log(`no registration of ${guid} at ${site} is known`);
        process.exitCode = 3;
        return;
      }
      console.log(opts.json ? JSON.stringify(status) : formatStatus(status));
    });
  });

program
  .command('list')
  .description('list registrations known to Temporal visibility (across all workers)')
  .option('--site <name>', 'only this site')
  .option('--guid <sha1>', 'only this GUID')
  .option('--all', 'also prefetch, distribution and deregistration runs')
  .option('--missing', 'per GUID, the configured sites that do not hold it (drift)')
  .option('--json', 'print JSON')
  .action(async (opts: { site?: string; guid?: string; all?: boolean; missing?: boolean; json?: boolean }) => {
    await withClient(async (client) => {
      if (opts.missing) {
        const { config } = await setup(program.opts<CommonOptions>());
        const sites = opts.site ? [opts.site] : Object.keys(config.sites);
        let report = await client.missing(sites);
        if (opts.guid) report = report.filter((r) => r.guid === normalizeGuid(opts.guid));
        if (opts.json) console.log(JSON.stringify(report));
        else for (const r of report) console.log(`${r.guid}  missing at: ${r.missing.join(', ') || '(none)'}  present at: ${r.present.join(', ') || '(none)'}`);
        return;
      }
      const runs = await client.list({
        ...(opts.site ? { site: opts.site } : {}),
        ...(opts.guid ? { guid: opts.guid } : {}),
        ...(opts.all ? { types: ['registerImage', 'prefetchImage', 'distributeImage', 'deregisterImage'] as const } : {}),
      });
      if (opts.json) console.log(JSON.stringify(runs));
      else for (const r of runs) console.log(`${r.guid}  ${r.site || '-'}  ${r.type.padEnd(15)} ${r.status.padEnd(10)} ${r.stage ?? ''}  ${r.startTime.toISOString()}`);
    });
  });

program
  .command('gc')
  .description('run the clean-up of cloud images now: deregister images not requested for N days and not in use')
  .option('--site <name>', 'site (default: the config default)')
  .option('--older-than-days <days>', 'days without a request (default: gc.olderThanDays in the config)')
  .option('--not-requested-since <time>', 'instead: images not requested since this ISO 8601 time')
  .option('--dry-run', 'only list what would be deregistered')
  .option('--json', 'print the result as JSON')
  .action(async (opts: { site?: string; olderThanDays?: string; notRequestedSince?: string; dryRun?: boolean; json?: boolean }) => {
    const { config } = await setup(program.opts<CommonOptions>());
    const site = opts.site ?? defaultSiteOf(config);
    const dryRun = opts.dryRun === true;
    let input: CollectGarbageInput;
    if (opts.notRequestedSince !== undefined) {
      if (opts.olderThanDays !== undefined) throw new Error('gc takes --older-than-days or --not-requested-since, not both');
      input = { site, notRequestedSince: opts.notRequestedSince, dryRun };
    } else {
      const olderThanDays = opts.olderThanDays !== undefined ? Number(opts.olderThanDays) : config.gc?.olderThanDays;
      if (olderThanDays === undefined || !(olderThanDays > 0)) {
        throw new Error('gc needs --older-than-days N (a number > 0), --not-requested-since TIME or gc.olderThanDays in the config');
      }
      input = { site, olderThanDays, dryRun };
    }
    await withClient(async (client) => {
      const result = await client.collectGarbage(input);
      if (opts.json) console.log(JSON.stringify(result));
      else {
        console.log(`${result.site}: ${result.imagesSeen} images, ${result.outcomes.length} not requested since ${result.cutoff}${result.dryRun ? ' (dry run)' : ''}`);
        for (const o of result.outcomes) console.log(`  ${o.guid}  ${o.action.padEnd(16)} last requested ${o.lastRequestedAt}${o.error ? `: ${o.error}` : ''}`);
      }
    });
  });

program
  .command('demo')
  .description('start the embedded default, register a generated sample image from a local origin, print the ids, stop')
  .action(async () => {
    const { dataDir, config: configured, configDir } = await setup(program.opts<CommonOptions>());
    // The sample is served from loopback, which the outbound policy refuses unless allowed.
    const config = { ...configured, http: { ...configured.http, allowedNetworks: [...configured.http.allowedNetworks, '127.0.0.0/8'] } };
    const logger = createLogger('warn');
    const env = await startDevEnvironment({ config, configDir, dataDir, hostId: hostIdFrom(), logger, headless: false });
    const sampleDir = await mkdtemp(join(tmpdir(), 'imageproxy-sample-'));
    const { baseUrl, server } = await serveDirectory(sampleDir);
    const client = await ImageProxyClient.connect({ settings: env.settings });
    try {
      const sample = await writeSampleImage(sampleDir);
      const metadata = sample.metadataFor(baseUrl);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(sampleDir, 'image.xml'), metadata);
      const guid = sha1Hex(metadata);
      const site = defaultSiteOf(config);
      console.log(`registering ${baseUrl}/image.xml (GUID ${guid}) at site ${site} …`);
      const run = await client.start({ url: `${baseUrl}/image.xml`, guid, site });
      const { runId } = await run.describe();
      if (env.uiUrl) console.log(`watch it in the Temporal UI: ${workflowUiLink(env.uiUrl, env.namespace, run.workflowId, runId)}`);
      const first = await client.registerImage({ url: `${baseUrl}/image.xml`, guid, site });
      console.log(JSON.stringify({ guid: first.guid, site: first.site, ids: first.ids }));
      // The demo's server stops below; its history stays in the data directory, which `imageproxy dev` serves.
      console.log(
        `Temporal UI of this run, after \`npx imageproxy dev\`: ${workflowUiLink('http://127.0.0.1:8233', env.namespace, run.workflowId, runId)}`,
      );
      const again = await client.registerImage({ url: `${baseUrl}/image.xml`, guid, site });
      console.log(`asked again: ${again.alreadyRegistered ? 'answered from the site, nothing downloaded' : 'registered again'}`);
    } finally {
      await client.close();
      server.close();
      await env.stop();
      await rm(sampleDir, { recursive: true, force: true });
    }
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`imageproxy: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

function formatDistribution(r: DistributeImageResult): string {
  const lines = [`${r.guid}${r.mode === 'prefetch' ? ' (prefetch)' : ''}: ${r.sites.length - r.failed.length} of ${r.sites.length} sites ok`];
  for (const s of r.sites) {
    if (!s.ok) lines.push(`  ${s.site}: FAILED: ${s.error}`);
    else {
      lines.push(`  ${s.site}:${s.alreadyRegistered ? ' (already registered)' : ''}`);
      for (const [k, v] of Object.entries(s.ids)) lines.push(`    ${k}=${v}`);
    }
  }
  return lines.join('\n');
}

/**
 * Register and wait, showing progress on stderr (stdout stays for the answer): a bar redrawn in
 * place on a terminal, otherwise (unless `plainLines` is off, as with --json for scripts) a plain
 * line when the stage changes and every 10 s while downloading.
 */
async function registerShowingProgress(
  client: ImageProxyClient,
  request: RegisterImageInput,
  opts: { plainLines: boolean },
): Promise<RegisterImageResult> {
  const tty = process.stderr.isTTY === true;
  if (!tty && !opts.plainLines) return client.registerImage(request);
  let lastLine = '';
  let lastPrinted = 0;
  let stop = false;
  const poll = async (): Promise<void> => {
    while (!stop) {
      const status = await client.getStatus(request.guid, request.site).catch(() => undefined);
      if (stop) return;
      if (status?.progress) {
        const line = progressLine(status.progress, { bar: tty });
        if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        else if (line.split(' ')[0] !== lastLine.split(' ')[0] || Date.now() - lastPrinted >= 10_000) {
          process.stderr.write(`${line}\n`);
          lastPrinted = Date.now();
        }
        lastLine = line;
      }
      await new Promise((r) => setTimeout(r, tty ? 500 : 1000));
    }
  };
  const polling = poll();
  try {
    return await client.registerImage(request);
  } finally {
    stop = true;
    await polling;
    if (tty && lastLine) process.stderr.write('\r\x1b[2K');
  }
}

function formatStatus(s: ImageStatus): string {
  const lines = [`${s.guid} at ${s.site}: ${s.status}${s.stage ? ` (${s.stage})` : ''}`];
  for (const p of s.progress?.parts ?? []) {
    lines.push(`  ${p.type}: ${p.bytesDone}${p.bytesTotal !== undefined ? `/${p.bytesTotal}` : ''} bytes`);
  }
  for (const [k, v] of Object.entries(s.ids ?? {})) lines.push(`  ${k}=${v}`);
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}
