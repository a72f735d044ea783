/**
 * A worker process as it runs against a real cluster (here: a fresh dev server started WITHOUT
 * ImageProxy's search attributes, as a new namespace is): it refuses to start until
 * `imageproxy setup` ran; it announces a deployment version and gets work once that version is
 * made current with the Temporal CLI's documented command; its metrics endpoint shows the counters
 * of the registrations it did (an eviction included: its cache has a small quota); SIGTERM stops it cleanly.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../../workers/temporal-cli.js';
import { CLI, runProcess, startProcess, type Running } from '../support/child-process.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, uniqueName, LOOPBACK_HTTP } from '../support/image-proxy-world.js';
import { publishSampleImage } from '../support/sample-images.js';

describe('imageproxy worker on a namespace of its own', () => {
  let server: DevServer;
  let origin: HttpOrigin;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let worker: Running | undefined;
  const siteA = uniqueName('prod-a');
  const siteB = uniqueName('prod-b');
  const buildId = uniqueName('test-build');

  beforeAll(async () => {
    server = await startDevServer({ headless: true, searchAttributes: false });
    origin = await new HttpOrigin().start();
    dataDir = await newTestDir('prod-worker');
    const config = join(dataDir, 'config.json');
    await writeFile(config, JSON.stringify({ sites: { [siteA]: { type: 'local' }, [siteB]: { type: 'local' } }, defaultSite: siteA, http: LOOPBACK_HTTP, cache: { maxBytes: 400 << 10 } }));
    env = { IMAGEPROXY_LOG_LEVEL: 'info', TEMPORAL_ADDRESS: server.address, IMAGEPROXY_DATA_DIR: dataDir, IMAGEPROXY_CONFIG: config, IMAGEPROXY_BUILD_ID: buildId };
  });

  afterAll(async () => {
    await worker?.stop();
    await origin?.stop();
    await server?.stop();
  });

  it('refuses to start without the search attributes, naming them and the command', async () => {
    const run = await runProcess('node', [CLI, 'worker'], { env });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/lacks the search attributes ImageGuid \(Keyword\), ImageSite \(Keyword\), ImageStage \(Keyword\), ImageSummary \(Keyword\)/);
    expect(run.stderr).toContain('run `imageproxy setup`');
  });

  it('`imageproxy setup` creates them, and run again changes nothing', async () => {
    const first = await runProcess('node', [CLI, 'setup'], { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('created search attributes ImageGuid, ImageSite, ImageStage, ImageSummary in namespace default');
    const again = await runProcess('node', [CLI, 'setup'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing changed');
  });

  it('the first version becomes current by itself; a new one gets work once `temporal worker deployment set-current-version` made it current; its metrics show the work', async () => {
    // First install: no version is current yet, the first worker's becomes current.
    const first = startProcess('node', [CLI, 'worker'], { env: { ...env, IMAGEPROXY_BUILD_ID: `${buildId}-old` } });
    await first.waitFor(/"outcome":"made-current"/, 90_000);
    await first.stop('SIGTERM');

    // A new version rolled out beside it: not current until the operator says so.
    const metricsPort = await freePort();
    worker = startProcess('node', [CLI, 'worker', '--metrics-port', String(metricsPort)], { env });
    const started = await worker.waitFor(/"outcome":"has-current"/, 90_000);
    expect(started).toContain(`as imageproxy ${buildId}`);

    // The operator's roll-out step, as docs/production.md gives it (retried: the version is known once polled).
    await expect
      .poll(
        async () =>
          (
            await runProcess(findTemporalCli(), [
              'worker', 'deployment', 'set-current-version',
              '--address', server.address, '--deployment-name', 'imageproxy', '--build-id', buildId, '--yes',
            ])
          ).code,
        { timeout: 30_000, interval: 500 },
      )
      .toBe(0);

    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 256 << 10 } });
    for (const site of [siteA, siteB]) {
      const reg = await runProcess('node', [CLI, 'register', '--url', image.url, '--guid', image.guid, '--site', site, '--json'], { env });
      expect(reg.stderr).toBe('');
      expect(reg.code).toBe(0);
    }

    // A second image does not fit beside the first in the 400 KiB cache: the first one's part, no
    // longer held by a run, is evicted.
    const second = await publishSampleImage(origin, { sizes: { FILESYSTEM: 256 << 10 } });
    const reg2 = await runProcess('node', [CLI, 'register', '--url', second.url, '--guid', second.guid, '--site', siteA, '--json'], { env });
    expect(reg2.stderr).toBe('');

    // A part whose bytes do not match its signature fails the registration, and is counted so.
    const wrong = await publishSampleImage(origin, { sizes: { FILESYSTEM: 64 << 10 }, editMetadata: (xml) => xml.replace(/<signature>([0-9a-f])/, (_, c: string) => `<signature>${c === '0' ? '1' : '0'}`) });
    const reg3 = await runProcess('node', [CLI, 'register', '--url', wrong.url, '--guid', wrong.guid, '--site', siteB, '--json'], { env });
    expect(reg3.code).not.toBe(0);
    expect(reg3.stderr).toMatch(/the metadata says/);

    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? 0);
    expect(value(/^imageproxy_bytes_fetched_total\{transport="http",source="origin"\} (\d+)/m)).toBeGreaterThanOrEqual(256 << 10);
    expect(value(new RegExp(`^imageproxy_registrations_total\\{site="${siteA}",outcome="registered"\\} (\\d+)`, 'm'))).toBe(2);
    expect(value(new RegExp(`^imageproxy_registrations_total\\{site="${siteB}",outcome="failed"\\} (\\d+)`, 'm'))).toBe(1);
    expect(value(/^imageproxy_cache_lookups_total\{result="miss"\} (\d+)/m)).toBeGreaterThan(0);
    // The second site found the parts the first one fetched.
    expect(value(/^imageproxy_cache_lookups_total\{result="hit"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^imageproxy_cache_bytes_held\{cache="[^"]+"\} (\d+)/m)).toBeGreaterThanOrEqual(256 << 10);
    expect(value(/^imageproxy_cache_evictions_total(?:\{[^}]*\})? (\d+)/m)).toBeGreaterThan(0);
    expect(value(new RegExp(`^imageproxy_stage_seconds_count\\{site="${siteA}",stage="download"\\} (\\d+)`, 'm'))).toBeGreaterThan(0);
    // The Temporal runtime's own worker metrics, merged in.
    expect(value(/^temporal_workflow_completed\{[^}]*\} (\d+)/m)).toBeGreaterThan(0);

    // SIGTERM: the worker stops taking work and exits cleanly.
    worker.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => worker!.child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  });
});
