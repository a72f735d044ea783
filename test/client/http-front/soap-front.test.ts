/**
 * The ORCA drop-in: raw SOAP 1.2 and 1.1 envelopes posted to the Axis2 paths of a real HTTP front,
 * over real workers of `local` sites and a real Temporal server; the npm `soap` client built from
 * our `?wsdl`; authentication; a caller that hangs up.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../client/http-front/auth.js';
import { loadProperties } from '../../../client/http-front/java-properties.js';
import { startHttpFront, type HttpFront } from '../../../client/http-front/server.js';
import { readSoapAnswer, SOAP11_NS, SOAP12_NS } from '../../../client/http-front/soap-envelope.js';
import { SERVICE_PATH, SOAP11_PATH, SOAP12_PATH } from '../../../client/http-front/wsdl.js';
import { createLogger } from '../../../workers/logger.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';
import { publishSampleImage } from '../../support/sample-images.js';

const logger = createLogger('error');

/** The envelope ORCA's Axis2 stub sends (document/literal, SOAP 1.2 by default). */
const soap12 = (url: string, signature: string): string =>
  `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="${SOAP12_NS}"><soapenv:Body>` +
  `<ns1:RegisterImage xmlns:ns1="http://imageproxy.orca"><ns1:url>${url}</ns1:url><ns1:signature>${signature}</ns1:signature></ns1:RegisterImage>` +
  `</soapenv:Body></soapenv:Envelope>`;

const soap11 = (url: string, signature: string, wrapper = 'RegisterImage'): string =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>` +
  `<${wrapper} xmlns="http://imageproxy.orca"><url>${url}</url><signature>${signature}</signature></${wrapper}>` +
  `</soap:Body></soap:Envelope>`;

async function post12(base: string, path: string, body: string, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml; charset=UTF-8; action="urn:RegisterImage"', ...headers },
    body,
    ...(signal ? { signal } : {}),
  });
}

async function post11(base: string, path: string, body: string) {
  return fetch(base + path, { method: 'POST', headers: { 'content-type': 'text/xml; charset=UTF-8', soapaction: '"urn:RegisterImage"' }, body });
}

describe('the ORCA SOAP front', () => {
  let origin: HttpOrigin;
  let world: World;
  let front: HttpFront;
  const siteA = uniqueName('soap-a');
  const siteB = uniqueName('soap-b');
  const siteDir = (site: string, guid: string, key: string): string => join(world.dataDir, 'sites', site, guid, key);

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [siteA]: { type: 'local' }, [siteB]: { type: 'local' } } });
    front = await startHttpFront({
      client: world.client,
      sites: [siteA, siteB],
      defaultSite: siteA,
      auth: await createAuthenticator({}, world.dataDir),
      port: 0,
      logger,
    });
  });
  afterAll(async () => {
    await front?.close();
    await world?.stop();
    await origin?.stop();
  });

  it('answers the raw SOAP 1.2 envelope of the Axis2 stub with Java properties holding the site ids', async () => {
    const image = await publishSampleImage(origin);
    const res = await post12(front.url, SOAP12_PATH, soap12(image.url, image.guid));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/soap\+xml/);
    const answer = readSoapAnswer(await res.text());
    expect('return' in answer).toBe(true);
    const text = (answer as { return: string }).return;
    expect(text.split('\n')[0]).toMatch(/^#(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}$/);
    expect(loadProperties(text)).toEqual({
      FILESYSTEM: siteDir(siteA, image.guid, 'FILESYSTEM'),
      KERNEL: siteDir(siteA, image.guid, 'KERNEL'),
      RAMDISK: siteDir(siteA, image.guid, 'RAMDISK'),
    });
  });

  it('answers SOAP 1.1 (lowercase wrapper, uppercase signature) and serves /sites/<name>/ for another site', async () => {
    const image = await publishSampleImage(origin);
    const res = await post11(front.url, `/sites/${siteB}${SOAP11_PATH}`, soap11(image.url, image.guid.toUpperCase(), 'registerImage'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const answer = readSoapAnswer(await res.text()) as { return: string };
    expect(loadProperties(answer.return).FILESYSTEM).toBe(siteDir(siteB, image.guid, 'FILESYSTEM'));
    // The service path itself takes SOAP too, for the default site.
    const again = await post11(front.url, SERVICE_PATH, soap11(image.url, image.guid));
    expect(loadProperties((readSoapAnswer(await again.text()) as { return: string }).return).FILESYSTEM).toBe(siteDir(siteA, image.guid, 'FILESYSTEM'));
  });

  it('answers a bad signature with a SOAP fault that says why, in the caller\'s version', async () => {
    const image = await publishSampleImage(origin);
    const wrong = createHash('sha1').update('not the metadata').digest('hex');
    const res12 = await post12(front.url, SOAP12_PATH, soap12(image.url, wrong));
    expect(res12.status).toBe(500);
    const fault12 = readSoapAnswer(await res12.text());
    expect(fault12).toMatchObject({ code: 'soapenv:Receiver' });
    expect((fault12 as { fault: string }).fault).toMatch(new RegExp(`has SHA-1 ${image.guid}, not the GUID ${wrong}`));

    const res11 = await post11(front.url, SOAP11_PATH, soap11(image.url, 'not-a-sha1'));
    expect(res11.status).toBe(500);
    const fault11 = readSoapAnswer(await res11.text());
    expect(fault11).toMatchObject({ code: 'soapenv:Client' });
    expect((fault11 as { fault: string }).fault).toMatch(/GUID must be the 40-hex-digit SHA-1 of the metadata file, got "not-a-sha1"/);

    const unknownSite = await post12(front.url, `/sites/nosuch${SOAP12_PATH}`, soap12(image.url, image.guid));
    expect(unknownSite.status).toBe(404);
  });

  it('serves a WSDL from which the npm soap client calls RegisterImage', async () => {
    const image = await publishSampleImage(origin);
    const client = await soap.createClientAsync(`${front.url}${SERVICE_PATH}?wsdl`);
    const [result] = (await client.RegisterImageAsync({ url: image.url, signature: image.guid })) as [{ return: string }];
    expect(loadProperties(result.return)).toMatchObject({ FILESYSTEM: siteDir(siteA, image.guid, 'FILESYSTEM'), KERNEL: siteDir(siteA, image.guid, 'KERNEL') });

    // A fault reaches the library's caller as an error carrying the reason.
    const err = await client.RegisterImageAsync({ url: image.url, signature: 'f'.repeat(40) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/not the GUID f{40}/);
  });

  it('a caller that hangs up cancels nothing: the run finishes and the next call is answered from it', async () => {
    const image = await publishSampleImage(origin);
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'delay', ms: 1500 });
    const abort = new AbortController();
    const call = post12(front.url, SOAP12_PATH, soap12(image.url, image.guid), {}, abort.signal).catch((e: unknown) => e);
    await expect.poll(async () => (await world.client.getStatus(image.guid, siteA))?.status, { timeout: 10_000 }).toBe('RUNNING');
    abort.abort();
    expect(await call).toBeInstanceOf(Error);
    await expect.poll(async () => (await world.client.getStatus(image.guid, siteA))?.status, { timeout: 30_000 }).toBe('COMPLETED');
    const res = await post12(front.url, SOAP12_PATH, soap12(image.url, image.guid));
    expect(loadProperties((readSoapAnswer(await res.text()) as { return: string }).return).FILESYSTEM).toBe(siteDir(siteA, image.guid, 'FILESYSTEM'));
    expect(origin.requestsOf(fs.urlPath)).toBe(1);
  });
});

describe('authentication of the HTTP front', () => {
  it('needs Basic or a bearer token when configured, and refuses a non-loopback address without any unless --insecure', async () => {
    const world = await startWorld({ sites: { [uniqueName('auth')]: { type: 'local' } }, startWorkers: false });
    const site = Object.keys(world.config.sites)[0]!;
    await writeFile(join(world.dataDir, 'password'), 's3cret:with colon\n');
    await writeFile(join(world.dataDir, 'tokens'), '# callers\ntoken-one\n\ntoken-two\n');
    const auth = await createAuthenticator({ basicAuth: { user: 'orca', passwordFile: 'password' }, bearerTokenFile: 'tokens' }, world.dataDir);
    const front = await startHttpFront({ client: world.client, sites: [site], defaultSite: site, auth, port: 0, logger });
    try {
      const wsdl = `${front.url}${SERVICE_PATH}?wsdl`;
      const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
      expect((await fetch(wsdl)).status).toBe(401);
      expect((await fetch(wsdl)).headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await fetch(wsdl, { headers: { authorization: basic('orca', 'wrong') } })).status).toBe(401);
      expect((await fetch(wsdl, { headers: { authorization: basic('other', 's3cret:with colon') } })).status).toBe(401);
      expect((await fetch(wsdl, { headers: { authorization: 'Bearer token-three' } })).status).toBe(401);
      const ok = await fetch(wsdl, { headers: { authorization: basic('orca', 's3cret:with colon') } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('IMAGEPROXYHttpSoap12Endpoint');
      expect((await fetch(`${front.url}/v1/images/${'a'.repeat(40)}`, { headers: { authorization: 'Bearer token-two' } })).status).toBe(404);
      expect((await fetch(`${front.url}/v1/images/${'a'.repeat(40)}`)).status).toBe(401);

      const none = await createAuthenticator({}, world.dataDir);
      const opts = { client: world.client, sites: [site], defaultSite: site, port: 0, logger };
      await expect(startHttpFront({ ...opts, auth: none, host: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0.0.0.0 without authentication.*--insecure/);
      await expect(createAuthenticator({ bearerTokenFile: 'missing-file' }, world.dataDir)).rejects.toThrow(/httpFront.bearerTokenFile: cannot read .*missing-file: ENOENT/);
    } finally {
      await front.close();
      await world.stop();
    }
  });
});
