/**
 * The embedded default as a user runs it: `imageproxy dev` in one process (its own Temporal dev
 * server with UI), `imageproxy register --json` from another, images served by a third-party
 * origin (`python3 -m http.server`), and the run found through the Temporal UI's API.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../client/demo/sample-image.js';
import { freePort } from '../../../workers/temporal-cli.js';
import { CLI, runProcess, startProcess, type Running } from '../../support/child-process.js';
import { newTestDir, LOOPBACK_HTTP } from '../../support/image-proxy-world.js';

describe('imageproxy dev + register from another shell', () => {
  let dev: Running;
  let origin: Running;
  let dataDir: string;
  let address: string;
  let uiUrl: string;
  let originUrl: string;
  let frontUrl: string;

  beforeAll(async () => {
    dataDir = await newTestDir('dev');
    const [port, uiPort, originPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const imagesDir = join(dataDir, 'origin');
    await runProcess('mkdir', ['-p', imagesDir]);
    await runProcess('mkdir', ['-p', join(dataDir, 'ip')]);
    // The origin is on loopback, refused unless the config allows it.
    await writeFile(join(dataDir, 'ip', 'config.json'), JSON.stringify({ sites: { local: { type: 'local' } }, http: LOOPBACK_HTTP }));
    origin = startProcess('python3', ['-m', 'http.server', String(originPort), '--bind', '127.0.0.1', '--directory', imagesDir]);
    originUrl = `http://127.0.0.1:${originPort}`;
    dev = startProcess('node', [CLI, 'dev', '--port', String(port), '--ui-port', String(uiPort), '--http-port', String(httpPort)], {
      env: { IMAGEPROXY_DATA_DIR: join(dataDir, 'ip'), TEMPORAL_ADDRESS: '' },
    });
    const out = await dev.waitFor(/SOAP: (\S+)/, 90_000);
    frontUrl = new URL(/SOAP: (\S+)/.exec(out)![1]!).origin;
    address = /Temporal: (\S+)/.exec(out)![1]!;
    uiUrl = /Temporal UI: (\S+)/.exec(out)![1]!;
    await origin.waitFor(/Serving HTTP/, 10_000).catch(() => undefined);
  });

  afterAll(async () => {
    await dev?.stop('SIGINT');
    await origin?.stop();
  });

  it('registers an image, answers JSON, and the run is listed in the Temporal UI with its search attributes', async () => {
    const imagesDir = join(dataDir, 'origin');
    const fs = pseudoRandomBytes(3 << 20, 7);
    await writeFile(join(imagesDir, 'fs.img'), fs);
    const sig = createHash('sha1').update(fs).digest('hex');
    const xml = `<images><image><type>FILESYSTEM</type><signature>${sig}</signature><url>${originUrl}/fs.img</url></image></images>`;
    await writeFile(join(imagesDir, 'image.xml'), xml);
    const guid = createHash('sha1').update(xml).digest('hex');

    const reg = await runProcess('node', [CLI, 'register', '--url', `${originUrl}/image.xml`, '--guid', guid, '--json'], {
      env: { TEMPORAL_ADDRESS: address, IMAGEPROXY_DATA_DIR: join(dataDir, 'ip') },
    });
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    const answer = JSON.parse(reg.stdout.trim()) as { guid: string; site: string; ids: { FILESYSTEM: string } };
    expect(answer).toEqual({ guid, site: 'local', ids: { FILESYSTEM: join(dataDir, 'ip', 'sites', 'local', guid, 'FILESYSTEM') }, alreadyRegistered: false, from: { FILESYSTEM: 'origin' } });
    expect(createHash('sha1').update(await readFile(answer.ids.FILESYSTEM)).digest('hex')).toBe(sig);

    // What the UI's workflow list shows, filtered by our search attribute.
    const query = encodeURIComponent(`ImageGuid="${guid}"`);
    await expect
      .poll(
        async () => {
          const res = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
          const body = (await res.json()) as { executions?: { execution: { workflowId: string }; searchAttributes?: { indexedFields?: Record<string, { data: string }> } }[] };
          const run = body.executions?.[0];
          const stage = run?.searchAttributes?.indexedFields?.ImageStage?.data;
          return run ? { id: run.execution.workflowId, stage: stage && JSON.parse(Buffer.from(stage, 'base64').toString()) } : undefined;
        },
        { timeout: 15_000 },
      )
      .toEqual({ id: `imageproxy/local/${guid}`, stage: 'done' });

    // And the CLI's own status and list agree.
    const status = await runProcess('node', [CLI, 'status', guid, '--json'], { env: { TEMPORAL_ADDRESS: address, IMAGEPROXY_DATA_DIR: join(dataDir, 'ip') } });
    expect(JSON.parse(status.stdout)).toMatchObject({ guid, site: 'local', status: 'COMPLETED', ids: answer.ids });

    // The HTTP front that `dev` started answers for the same run.
    const shown = await fetch(`${frontUrl}/v1/images/${guid}`);
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({ guid, sites: [{ site: 'local', status: 'COMPLETED', ids: answer.ids }] });
  });

  it('prints the reason and exits non-zero on a bad request', async () => {
    const reg = await runProcess('node', [CLI, 'register', '--url', `${originUrl}/image.xml`, '--guid', 'not-a-guid', '--json'], {
      env: { TEMPORAL_ADDRESS: address, IMAGEPROXY_DATA_DIR: join(dataDir, 'ip') },
    });
    expect(reg.code).not.toBe(0);
    expect(reg.stderr).toMatch(/GUID must be the 40-hex-digit SHA-1/);
  });
});
