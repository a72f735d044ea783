/**
 * Reaching a secured cluster as Temporal's own tools do: nginx terminates TLS in front of the dev
 * server and demands a client certificate (or, on a second port, an API key). The worker, the CLI
 * and the JSON front get their settings only from TEMPORAL_TLS_* variables, or from a profile
 * file, and register an image; wrong settings fail fast with the address and the TLS problem.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findTemporalCli, freePort } from '../../workers/temporal-cli.js';
import { CLI, runProcess, startProcess, type Running } from '../support/child-process.js';
import { HttpOrigin } from '../support/http-origin.js';
import { newTestDir, uniqueName, LOOPBACK_HTTP } from '../support/image-proxy-world.js';
import { publishSampleImage, type PublishedImage } from '../support/sample-images.js';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from '../support/tls-proxy.js';

const API_KEY = 'test-key-7f3a9c';

describe('a cluster behind TLS (nginx, mTLS and API key)', () => {
  let pki: TestPki;
  let proxy: TlsProxy;
  let origin: HttpOrigin;
  let dataDir: string;
  let base: NodeJS.ProcessEnv;
  let mtlsEnv: NodeJS.ProcessEnv;
  const running: Running[] = [];
  const site = uniqueName('tls');
  const deploymentName = uniqueName('imageproxy-tls');
  const buildId = uniqueName('build');
  let image: PublishedImage;

  beforeAll(async () => {
    dataDir = await newTestDir('tls');
    pki = await makeTestPki(join(dataDir, 'pki'));
    proxy = await startTlsProxy({ pki, upstream: inject('temporalAddress'), apiKey: API_KEY });
    origin = await new HttpOrigin().start();
    image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 128 << 10 } });
    const config = join(dataDir, 'config.json');
    await writeFile(config, JSON.stringify({ sites: { [site]: { type: 'local' } }, http: LOOPBACK_HTTP }));
    // Nothing about Temporal inherited from the test's own environment.
    base = {
      IMAGEPROXY_DATA_DIR: dataDir, IMAGEPROXY_CONFIG: config, IMAGEPROXY_DEPLOYMENT_NAME: deploymentName, IMAGEPROXY_BUILD_ID: buildId,
      TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: join(dataDir, 'no-profile.toml'), TEMPORAL_API_KEY: '',
    };
    mtlsEnv = {
      ...base,
      TEMPORAL_ADDRESS: proxy.mtlsAddress,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
    // A profile file naming nothing used here (the user's own ~/.config/temporalio is not read).
    await writeFile(base.TEMPORAL_CONFIG_FILE!, '[profile.unused]\naddress = "127.0.0.1:1"\n');
  });

  afterAll(async () => {
    for (const r of running) await r.stop();
    await proxy?.stop();
    await origin?.stop();
  });

  /** Starts the SOAP/JSON front with `env`, posts a new image to it and waits until it is registered. */
  async function registerThroughFront(env: NodeJS.ProcessEnv): Promise<void> {
    const port = await freePort();
    const front = startProcess('node', [CLI, 'serve', '--http-port', String(port)], { env });
    running.push(front);
    await front.waitFor(/JSON: /, 60_000);
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 64 << 10 } });
    const posted = await fetch(`http://127.0.0.1:${port}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: image.url, guid: image.guid, sites: [site] }),
    });
    expect(posted.status).toBe(202);
    await expect
      .poll(async () => ((await (await fetch(`http://127.0.0.1:${port}/v1/images/${image.guid}`)).json()) as { sites: { stage: string }[] }).sites[0]?.stage, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe('done');
  }

  it('worker, CLI and JSON front connect with a client certificate from TEMPORAL_TLS_* and register an image', async () => {
    const worker = startProcess('node', [CLI, 'worker'], { env: mtlsEnv });
    running.push(worker);
    await worker.waitFor(/serving sites/, 90_000);
    expect(worker.output()).toContain(`${proxy.mtlsAddress} (namespace default, mTLS (client certificate))`);
    // The roll-out step, against the cluster (here straight to the dev server).
    await expect
      .poll(
        async () =>
          (await runProcess(findTemporalCli(), ['worker', 'deployment', 'set-current-version', '--address', inject('temporalAddress'), '--deployment-name', deploymentName, '--build-id', buildId, '--yes'])).code,
        { timeout: 30_000, interval: 500 },
      )
      .toBe(0);

    const reg = await runProcess('node', [CLI, 'register', '--url', image.url, '--guid', image.guid, '--json'], { env: mtlsEnv });
    expect(reg.stderr).toBe('');
    expect(JSON.parse(reg.stdout) as { guid: string; site: string }).toMatchObject({ guid: image.guid, site });

    await registerThroughFront(mtlsEnv);
  });

  it('a worker, the CLI and the JSON front connect through a profile file (TEMPORAL_CONFIG_FILE) alone, and register an image', async () => {
    const profile = join(dataDir, 'temporal.toml');
    await writeFile(
      profile,
      `[profile.secure]\naddress = "${proxy.mtlsAddress}"\nnamespace = "default"\n[profile.secure.tls]\n` +
        `client_cert_path = "${pki.clientCert}"\nclient_key_path = "${pki.clientKey}"\nserver_ca_cert_path = "${pki.caCert}"\nserver_name = "localhost"\n`,
    );
    const profileEnv = { ...base, TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'secure' };
    const status = await runProcess('node', [CLI, 'status', image.guid, '--json'], { env: profileEnv });
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout) as { status: string }).toMatchObject({ status: 'COMPLETED', stage: 'done' });

    // Only workers configured by the profile are left to do the work.
    for (const r of running.splice(0)) await r.stop();
    const worker = startProcess('node', [CLI, 'worker'], { env: profileEnv });
    running.push(worker);
    await worker.waitFor(/serving sites/, 90_000);
    expect(worker.output()).toContain(`${proxy.mtlsAddress} (namespace default, mTLS (client certificate))`);
    await registerThroughFront(profileEnv);
  });

  it('without the certificate, or trusting another CA, the CLI, the front and a worker fail fast, naming the address and the TLS problem', async () => {
    const noCert = { ...mtlsEnv, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' };
    const wrongCa = { ...mtlsEnv, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCert };
    for (const [what, env, problem] of [
      ['no client certificate', noCert, /no client certificate was sent/],
      ['another CA', wrongCa, /certificate|self.signed|verify/i],
    ] as const) {
      for (const args of [['status', image.guid], ['worker'], ['serve', '--http-port', '0']]) {
        const t0 = Date.now();
        const run = await runProcess('node', [CLI, ...args], { env });
        const seconds = (Date.now() - t0) / 1000;
        expect(run.code, `${args[0]} with ${what}`).not.toBe(0);
        expect(run.stderr, `${args[0]} with ${what}`).toContain(`cannot connect to Temporal at ${proxy.mtlsAddress}`);
        expect(run.stderr, `${args[0]} with ${what}`).toMatch(problem);
        expect(seconds, `${args[0]} with ${what}: a hang, not a failure`).toBeLessThan(60);
      }
    }
  });

  it('an API key is sent as the authorization header: the right one is let through, a wrong one refused', async () => {
    const keyEnv = { ...base, TEMPORAL_ADDRESS: proxy.apiKeyAddress, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, TEMPORAL_TLS_SERVER_NAME: 'localhost' };
    const ok = await runProcess('node', [CLI, 'status', image.guid, '--json'], { env: { ...keyEnv, TEMPORAL_API_KEY: API_KEY } });
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout) as { status: string }).toMatchObject({ status: 'COMPLETED' });

    const refused = await runProcess('node', [CLI, 'status', image.guid, '--json'], { env: { ...keyEnv, TEMPORAL_API_KEY: 'wrong-key' } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`cannot connect to Temporal at ${proxy.apiKeyAddress} (namespace default, TLS, API key)`);
    expect(refused.stderr).toMatch(/403.*the API key was refused/);
  });
});
