/** `imageproxy serve`: the HTTP front alone, against an existing Temporal server. */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../workers/temporal-cli.js';
import { CLI, runProcess, startProcess, type Running } from '../../support/child-process.js';
import { newTestDir } from '../../support/image-proxy-world.js';

describe('imageproxy serve', () => {
  let serve: Running | undefined;
  afterEach(async () => {
    await serve?.stop('SIGINT');
  });

  it('serves the WSDL on the port asked, and refuses a non-loopback address without authentication', async () => {
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), IMAGEPROXY_DATA_DIR: await newTestDir('serve') };
    const port = await freePort();
    serve = startProcess('node', [CLI, 'serve', '--http-port', String(port)], { env });
    await serve.waitFor(/SOAP: http:\/\/127\.0\.0\.1:\d+\/axis2\/services\/IMAGEPROXY\?wsdl/, 30_000);
    const wsdl = await fetch(`http://127.0.0.1:${port}/axis2/services/IMAGEPROXY?wsdl`);
    expect(wsdl.status).toBe(200);
    expect(await wsdl.text()).toContain(`location="http://127.0.0.1:${port}/axis2/services/IMAGEPROXY.IMAGEPROXYHttpSoap12Endpoint/"`);

    const refused = await runProcess('node', [CLI, 'serve', '--http-host', '0.0.0.0', '--http-port', String(await freePort())], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication.*--insecure/);
  });
});
