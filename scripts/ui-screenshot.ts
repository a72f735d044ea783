/**
 * Makes docs/img/workflow-list.png, workflow-run.png and workflow-activities.png: the Temporal web
 * UI's workflow list after a few real registrations, one run's page with its summary, details and
 * current details, and its event history with each activity's summary, photographed by Debian's headless Chromium. Run it again whenever the UI text changes:
 * `npx tsx scripts/ui-screenshot.ts [--out-dir docs/img]`.
 *
 * It starts its own dev server (with the UI, on free loopback ports) and workers for three `local`
 * sites in a scratch directory, serves generated sample images on loopback, registers them (one
 * to two sites at once, one with a part that is not there, so a failed row shows too), then runs
 * headless Chromium and stops everything.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { ImageProxyClient } from '../client/image-proxy-client.js';
import { serveDirectory, sha1Hex, writeSampleImage } from '../client/demo/sample-image.js';
import { workflowListUiLink, workflowUiLink } from '../client/temporal-ui-link.js';
import { registerWorkflowId } from '../common/naming.js';
import { ConfigSchema } from '../config/config-schema.js';
import { startDevEnvironment } from '../workers/dev-environment.js';
import { createLogger } from '../workers/logger.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const outArg = process.argv.indexOf('--out-dir');
const outDir = resolve(outArg > 0 ? process.argv[outArg + 1]! : 'docs/img');

async function main(): Promise<void> {
  // Only this script needs a browser, so the test world does not install one.
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM)`);
  const scratch = await mkdtemp(join(tmpdir(), 'imageproxy-ui-shot-'));
  const config = ConfigSchema.parse({
    sites: { 'cloud-a': { type: 'local' }, 'cloud-b': { type: 'local' }, rack1: { type: 'local' } },
    defaultSite: 'cloud-a',
    http: { allowedNetworks: ['127.0.0.0/8'] }, // the sample images are served on loopback
  });
  const env = await startDevEnvironment({
    config,
    configDir: scratch,
    dataDir: join(scratch, 'data'),
    hostId: 'worker-1',
    logger: createLogger('error'),
    headless: false,
  });
  const servers: { close(): void }[] = [];
  const client = await ImageProxyClient.connect({ address: env.address, namespace: env.namespace });
  try {
    // One origin per image: the sample parts have fixed file names.
    const publish = async (name: string, seed: number, breakKernel = false): Promise<{ url: string; guid: string }> => {
      const dir = join(scratch, 'origin', name);
      await mkdir(dir, { recursive: true });
      const sample = await writeSampleImage(dir, { seed });
      const { baseUrl, server } = await serveDirectory(dir);
      servers.push(server);
      let metadata = sample.metadataFor(baseUrl);
      if (breakKernel) metadata = metadata.replace(/(<url>[^<]*)(kernel[^<]*<\/url>)/i, '$1missing-$2');
      await writeFile(join(dir, `${name}.xml`), metadata);
      return { url: `${baseUrl}/${name}.xml`, guid: sha1Hex(metadata) };
    };
    const ubuntu = await publish('ubuntu-22.04', 1);
    const rocky = await publish('rocky-9.3', 2);
    const debian = await publish('debian-12', 3, true);

    await client.distributeImage({ ...ubuntu, sites: ['cloud-a', 'cloud-b'], coordinatorSite: 'cloud-a' });
    await client.registerImage({ ...rocky, site: 'rack1' });
    await client.registerImage({ ...debian, site: 'cloud-b' }).catch(() => undefined); // the failed row
    await client.registerImage({ ...ubuntu, site: 'cloud-a' }); // answered from the site

    await mkdir(outDir, { recursive: true });
    const files = { list: join(outDir, 'workflow-list.png'), run: join(outDir, 'workflow-run.png'), activities: join(outDir, 'workflow-activities.png') };
    const { runId } = await client.temporal.workflow.getHandle(registerWorkflowId('rack1', rocky.guid)).describe();
    await screenshots(env.uiUrl!, env.namespace, { workflowId: registerWorkflowId('rack1', rocky.guid), runId }, files, join(scratch, 'chromium-profile'));
    console.log(`wrote ${Object.values(files).join(', ')}`);
  } finally {
    await client.close();
    for (const s of servers) s.close();
    await env.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Debian's Chromium driven by playwright-core (no browser download), with the flags this machine's
 * closed network needs. The list gets the image's search attributes as columns, the summary first
 * (`ImageSummary`: this UI version has no column for the run's own summary); the UI keeps its
 * column choice in localStorage. The run's own page, with its details and current details, and its
 * activities' summaries are photographed too.
 */
interface BrowserGlobals {
  localStorage: { setItem(key: string, value: string): void };
}

async function screenshots(uiUrl: string, namespace: string, run: { workflowId: string; runId: string }, files: { list: string; run: string; activities: string }, profileDir: string): Promise<void> {
  const browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 620 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const columns = ['Status', 'ImageSummary', 'ImageStage', 'Workflow ID', 'End'].map((label) => ({ label }));
    await browser.addInitScript(
      (value: string) => (globalThis as unknown as BrowserGlobals).localStorage.setItem('namespace-workflow-table-columns', value),
      JSON.stringify({ [namespace]: columns }),
    );
    const page = await browser.newPage();
    await page.goto(workflowListUiLink(uiUrl, namespace));
    await page.getByText('imageproxy-distribute/').first().waitFor({ timeout: 60_000 });
    await page.getByText('register ubuntu-22.04.xml').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: files.list });
    await page.setViewportSize({ width: 1500, height: 1100 });
    await page.goto(workflowUiLink(uiUrl, namespace, run.workflowId, run.runId));
    await page.getByText('User Metadata').first().click({ timeout: 60_000 });
    await page.getByText('Current Details').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(3000); // the current details render after the metadata query answers
    await page.screenshot({ path: files.run });
    await page.getByText('Event History').first().click();
    await page.getByText('Compact').first().click();
    await page.getByText('fetch and verify rocky-9.3.xml').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: files.activities });
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(`ui-screenshot: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
