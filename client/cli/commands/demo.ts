/** `imageproxy demo`: the embedded default registers a generated sample image from a local origin, prints the ids, stops. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { defaultSiteOf, hostIdFrom } from '../../../config/load-config.js';
import type { CliContext } from '../cli-context.js';
import { workflowUiLink } from '../../temporal-ui-link.js';
import { processLogger } from '../process-logger.js';

export function defineDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('start the embedded default, register a generated sample image from a local origin, print the ids, stop')
    .option('--json', 'print one JSON object at the end instead of the lines')
    .action((opts: { json?: boolean }) => runDemo(ctx, opts));
}

/** `--json`: the first registration and whether asking again was answered from the site. */
export interface DemoJson {
  guid: string;
  site: string;
  ids: Record<string, string>;
  askedAgainAlreadyRegistered: boolean;
  /** The run in the Temporal UI of `imageproxy dev` (which serves the same data directory). */
  ui: string;
}

async function runDemo(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const { dataDir, config: configured, configDir } = await ctx.loadConfig();
  // The sample is served from loopback, which the outbound policy refuses unless allowed.
  const config = { ...configured, http: { ...configured.http, allowedNetworks: [...configured.http.allowedNetworks, '127.0.0.0/8'] } };
  const logger = await processLogger(ctx, 'warn');
  const [{ startDevEnvironment }, { ImageProxyClient }, { serveDirectory, sha1Hex, writeSampleImage }] = await Promise.all([
    import('../../../workers/dev-environment.js'),
    import('../../image-proxy-client.js'),
    import('../../demo/sample-image.js'),
  ]);
  const env = await startDevEnvironment({ config, configDir, dataDir, hostId: hostIdFrom(ctx.io.env), logger, headless: false });
  const sampleDir = await mkdtemp(join(tmpdir(), 'imageproxy-sample-'));
  const { baseUrl, server } = await serveDirectory(sampleDir);
  const client = await ImageProxyClient.connect({ settings: env.settings });
  try {
    const sample = await writeSampleImage(sampleDir);
    const metadata = sample.metadataFor(baseUrl);
    await writeFile(join(sampleDir, 'image.xml'), metadata);
    const guid = sha1Hex(metadata);
    const site = defaultSiteOf(config);
    if (!opts.json) ctx.print(`registering ${baseUrl}/image.xml (GUID ${guid}) at site ${site} …`);
    const run = await client.start({ url: `${baseUrl}/image.xml`, guid, site });
    const { runId } = await run.describe();
    if (env.uiUrl && !opts.json) ctx.print(`watch it in the Temporal UI: ${workflowUiLink(env.uiUrl, env.namespace, run.workflowId, runId)}`);
    const first = await client.registerImage({ url: `${baseUrl}/image.xml`, guid, site });
    // The demo's server stops below; its history stays in the data directory, which `imageproxy dev` serves.
    const laterUi = workflowUiLink('http://127.0.0.1:8233', env.namespace, run.workflowId, runId);
    if (!opts.json) {
      ctx.print(JSON.stringify({ guid: first.guid, site: first.site, ids: first.ids }));
      ctx.print(`Temporal UI of this run, after \`npx imageproxy dev\`: ${laterUi}`);
    }
    const again = await client.registerImage({ url: `${baseUrl}/image.xml`, guid, site });
    if (opts.json) {
      ctx.printJson({ guid: first.guid, site: first.site, ids: first.ids, askedAgainAlreadyRegistered: again.alreadyRegistered, ui: laterUi } satisfies DemoJson);
    } else ctx.print(`asked again: ${again.alreadyRegistered ? 'answered from the site, nothing downloaded' : 'registered again'}`);
  } finally {
    await client.close();
    server.close();
    await env.stop();
    await rm(sampleDir, { recursive: true, force: true });
  }
}
