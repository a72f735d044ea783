/**
 * The HTTP front: ORCA's SOAP `RegisterImage` on the Axis2 paths (the config's default site; the
 * same paths under `/sites/<name>/` for site `<name>`), `?wsdl`, and the JSON API under `/v1/`.
 *
 * A SOAP call starts or attaches to the site's registration and waits for it (ORCA waits up to an
 * hour). The wait is only a watch on the workflow: a dropped connection cancels nothing, the run
 * goes on, and the next call attaches to it or is answered from the site.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ID_KEYS } from '../../common/image-types.js';
import { normalizeGuid } from '../../common/guid.js';
import { InvalidRequestError, RegistrationFailedError, type ImageProxyClient } from '../image-proxy-client.js';
import type { Authenticator } from './auth.js';
import { storeProperties } from './java-properties.js';
import { handleJsonApi, readBody, sendJson } from './json-api.js';
import {
  buildFault,
  buildRegisterImageResponse,
  parseRegisterImageRequest,
  soapContentType,
  SoapRequestError,
  type SoapVersion,
} from './soap-envelope.js';
import { buildWsdl, SERVICE_PATH, SOAP11_PATH, SOAP12_PATH } from './wsdl.js';

export interface HttpFrontOptions {
  client: ImageProxyClient;
  /** Site names of the config, in config order. */
  sites: readonly string[];
  /** Site served by the plain Axis2 paths. */
  defaultSite: string;
  auth: Authenticator;
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Allow a non-loopback address without authentication. @default false */
  insecure?: boolean;
  logger: Logger;
  /** Largest request body accepted. @default 1 MiB */
  maxBodyBytes?: number;
}

export interface HttpFront {
  /** `http://host:port` as listening. */
  url: string;
  server: Server;
  close(): Promise<void>;
}

const SOAP_PATHS = new Set([SERVICE_PATH, `${SERVICE_PATH}/`, SOAP11_PATH, SOAP11_PATH.slice(0, -1), SOAP12_PATH, SOAP12_PATH.slice(0, -1)]);

/** A URL fit for logs: any `user:password@` removed. */
function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startHttpFront(options: HttpFrontOptions): Promise<HttpFront> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.auth.required && !options.insecure) {
    throw new Error(
      `refusing to listen on ${host} without authentication: configure httpFront.basicAuth or bearer tokens, or pass --insecure`,
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.logger.error({ err: (err as Error).message, path: req.url }, 'http front: unhandled error');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Long SOAP waits: keep idle connections alive through NATs, never time the answer out here.
  server.on('connection', (socket) => socket.setKeepAlive(true, 60_000));
  server.requestTimeout = 600_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front');
    const grant = options.auth.grantOf(req);
    if (!grant) {
      // Never say which part was wrong, never echo what was sent.
      res.writeHead(401, { 'www-authenticate': options.auth.challenge, 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    if (url.pathname.startsWith('/v1/')) {
      return handleJsonApi(req, res, url, { client: options.client, sites: options.sites, defaultSite: options.defaultSite, maxBodyBytes, grant });
    }
    let site = options.defaultSite;
    let prefix = '';
    let path = url.pathname;
    const sitePath = /^\/sites\/([^/]+)(\/.*)$/.exec(path);
    if (sitePath) {
      site = decodeURIComponent(sitePath[1]!);
      prefix = `/sites/${sitePath[1]!}`;
      path = sitePath[2]!;
      if (!options.sites.includes(site)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no site named ${site}\n`);
        return;
      }
    }
    if (!SOAP_PATHS.has(path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`);
      return;
    }
    // SOAP has no per-operation split here: a limited token needs every operation at the site.
    const missing = (['register', 'status', 'deregister'] as const).filter((op) => !grant.may(site, op));
    if (missing.length > 0) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`this token may not ${missing.join(', ')} at site ${site} (SOAP needs all three)\n`);
      return;
    }
    if (req.method === 'GET' && [...url.searchParams.keys()].some((k) => k.toLowerCase() === 'wsdl')) {
      const wsdl = buildWsdl(`http://${req.headers.host ?? `${host}:${options.port ?? 8080}`}${prefix}`);
      res.writeHead(200, { 'content-type': 'text/xml; charset=UTF-8', 'content-length': Buffer.byteLength(wsdl) }).end(wsdl);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST, GET', 'content-type': 'text/plain' }).end('POST a SOAP request, or GET ?wsdl\n');
      return;
    }
    await answerSoap(req, res, site);
  }

  async function answerSoap(req: IncomingMessage, res: ServerResponse, site: string): Promise<void> {
    // The caller's version, as far as it can be told before parsing: the content type says it.
    let version: SoapVersion = (req.headers['content-type'] ?? '').includes('application/soap+xml') ? '1.2' : '1.1';
    const started = Date.now();
    try {
      const call = parseRegisterImageRequest(await readBody(req, maxBodyBytes));
      version = call.version;
      // The one GUID rule of every front: any case, lower-cased.
      const guid = normalizeGuid(call.signature);
      options.logger.info({ site, guid, url: withoutUserinfo(call.url), soap: version }, 'SOAP RegisterImage');
      const result = await options.client.registerImage({ url: call.url, guid, site });
      const answer: Record<string, string> = {};
      for (const key of ID_KEYS) if (result.ids[key]) answer[key] = result.ids[key];
      send(res, 200, version, buildRegisterImageResponse(version, storeProperties(answer)), 'urn:RegisterImageResponse');
      options.logger.info({ site, guid, ms: Date.now() - started, connected: !res.destroyed }, 'SOAP RegisterImage answered');
    } catch (err) {
      const sender = err instanceof SoapRequestError || err instanceof InvalidRequestError || (err as { status?: number }).status === 413;
      if (err instanceof SoapRequestError && err.version) version = err.version;
      const reason =
        err instanceof RegistrationFailedError || sender
          ? (err as Error).message
          : `ImageProxy could not complete the request: ${(err as Error).message}`;
      options.logger.warn({ site, reason }, 'SOAP RegisterImage fault');
      send(res, 500, version, buildFault(version, reason, sender));
    }
  }

  function send(res: ServerResponse, status: number, version: SoapVersion, xml: string, action?: string): void {
    if (res.destroyed) return; // the caller hung up; the workflow ran on regardless
    res.writeHead(status, { 'content-type': soapContentType(version, action), 'content-length': Buffer.byteLength(xml) }).end(xml);
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void =>
      reject(new Error(`the SOAP/JSON front cannot listen on ${host}:${options.port ?? 8080}: ${err.code ?? err.message} (choose another --http-port)`));
    server.once('error', failed);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
