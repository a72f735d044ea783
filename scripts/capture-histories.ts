/**
 * Capture the histories the replay test replays (test/workflows/replay-histories.test.ts): run
 * every workflow type, in each outcome that takes a different path, against a fresh dev server
 * with real workers (two local sites) and a local origin, then write each run's history as
 * `temporal workflow show -o json` prints it into test/workflows/histories/<type>-<case>.json.
 *
 *   npx tsx scripts/capture-histories.ts          # then commit the changed files
 *   npx tsx scripts/capture-histories.ts turns    # writes <type>-<case>-turns.json beside the older files
 *
 * Run it after a deliberate, patched() change to workflow code, so the suite also holds runs of
 * the new code; keep the older files (give a suffix): they are what running workflows replay.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ImageProxyClient } from '../client/image-proxy-client.js';
import { serveDirectory, sha1Hex, writeSampleImage } from '../client/demo/sample-image.js';
import { ConfigSchema } from '../config/config-schema.js';
import { createLogger } from '../workers/logger.js';
import { startDevEnvironment } from '../workers/dev-environment.js';
import { findTemporalCli } from '../workers/temporal-cli.js';

const OUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'workflows', 'histories');
const SITE_A = 'site-a';
const SITE_B = 'site-b';
/** Appended to each file name, so a capture after a patched() change keeps the older files. */
const SUFFIX = process.argv[2] ? `-${process.argv[2].replace(/[^a-z0-9-]/gi, '')}` : '';

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'imageproxy-capture-'));
  const originDir = join(work, 'origin');
  await mkdir(originDir, { recursive: true });
  const config = ConfigSchema.parse({ sites: { [SITE_A]: { type: 'local' }, [SITE_B]: { type: 'local' } }, defaultSite: SITE_A, http: { allowedNetworks: ['127.0.0.0/8', '::1/128'] } });
  const env = await startDevEnvironment({
    config,
    configDir: work,
    dataDir: join(work, 'data'),
    hostId: 'capture-host',
    logger: createLogger('warn'),
    headless: true,
  });
  const { baseUrl, server } = await serveDirectory(originDir);
  const client = await ImageProxyClient.connect({ settings: env.settings });
  const captured: { file: string; workflowId: string; runId: string }[] = [];
  const keep = (file: string, handle: { workflowId: string; firstExecutionRunId?: string; runId?: string }): void => {
    captured.push({ file, workflowId: handle.workflowId, runId: handle.firstExecutionRunId ?? handle.runId ?? '' });
  };
  try {
    const sample = await writeSampleImage(originDir, { sizes: { FILESYSTEM: 64 << 10, KERNEL: 8 << 10, RAMDISK: 8 << 10 } });
    const metadata = sample.metadataFor(baseUrl);
    await writeFile(join(originDir, 'image.xml'), metadata);
    const url = `${baseUrl}/image.xml`;
    const guid = sha1Hex(metadata);

    // registerImage: done, then asked again (already registered).
    const first = await client.start({ url, guid, site: SITE_A });
    await first.result();
    keep('registerImage-done', first);
    const again = await client.start({ url, guid, site: SITE_A });
    await again.result();
    keep('registerImage-already-registered', again);

    // registerImage: failed (the metadata names a part whose hash does not match).
    const bad = metadata.replace(/<signature>([0-9a-f]+)<\/signature>/, (_m, hex: string) => `<signature>${'0'.repeat(hex.length)}</signature>`);
    await writeFile(join(originDir, 'bad.xml'), bad);
    const failed = await client.start({ url: `${baseUrl}/bad.xml`, guid: sha1Hex(bad), site: SITE_A });
    await failed.result().catch(() => undefined);
    keep('registerImage-failed', failed);

    // distributeImage in both modes; prefetch runs a prefetchImage per site.
    const prefetch = await client.startDistribution({ url, guid, sites: [SITE_B], coordinatorSite: SITE_A, mode: 'prefetch' });
    await prefetch.result();
    keep('distributeImage-prefetch', prefetch);
    const distribute = await client.startDistribution({ url, guid, sites: [SITE_A, SITE_B], coordinatorSite: SITE_A, mode: 'register' });
    await distribute.result();
    keep('distributeImage-register', distribute);

    await client.deregister(guid, SITE_B);
    await client.provisionNodes(guid, SITE_A, ['node1']).catch(() => undefined); // a local site has no nodes
    await client.collectGarbage({ site: SITE_A, olderThanDays: 30, dryRun: true });

    // The runs not started above by handle: found by type.
    for (const [type, file] of [
      ['prefetchImage', 'prefetchImage'],
      ['deregisterImage', 'deregisterImage'],
      ['provisionNodes', 'provisionNodes-rejected'],
      ['collectGarbage', 'collectGarbage-dry-run'],
    ] as const) {
      for await (const run of client.temporal.workflow.list({ query: `WorkflowType = '${type}'` })) {
        captured.push({ file, workflowId: run.workflowId, runId: run.runId });
        break;
      }
    }

    await mkdir(OUT_DIR, { recursive: true });
    const cli = findTemporalCli();
    for (const c of captured) {
      const { stdout } = await promisify(execFile)(
        cli,
        ['workflow', 'show', '--address', env.address, '--namespace', env.namespace, '-w', c.workflowId, '-r', c.runId, '-o', 'json'],
        { maxBuffer: 64 << 20 },
      );
      await writeFile(join(OUT_DIR, `${c.file}${SUFFIX}.json`), stdout);
      console.log(`${c.file}${SUFFIX}.json  ${c.workflowId}`);
    }
  } finally {
    await client.close();
    server.close();
    await env.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
