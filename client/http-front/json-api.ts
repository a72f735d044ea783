/**
 * The JSON API beside the SOAP front, for new callers:
 * - `POST /v1/images` `{url, guid, sites?}` → 202 `{guid, sites, workflowId, statusUrl}`: starts (or
 *   attaches to) the distribution and does not wait;
 * - `GET /v1/images/{guid}` → 200 `{guid, sites: [{site, status, stage, progress, ids, error, …}]}`;
 * - `DELETE /v1/images/{guid}?site=` → 200 `{guid, site, deregistered: true}` once removed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FrontOperation } from '../../config/config-schema.js';
import { guidProblem, normalizeGuid } from '../../common/guid.js';
import type { Grant } from './auth.js';
import { InvalidRequestError, RegistrationFailedError, RegistrationRunningError, type ImageProxyClient, type ImageStatus } from '../image-proxy-client.js';

export interface JsonApiContext {
  client: ImageProxyClient;
  /** Sites of the config, in config order. */
  sites: readonly string[];
  defaultSite: string;
  /** Request body limit. */
  maxBodyBytes: number;
  /** What the caller may do (limited bearer tokens); everything when absent. */
  grant?: Grant;
}

/** 403 naming the site and operation, never the token. */
function demand(ctx: JsonApiContext, site: string, operation: FrontOperation): void {
  if (ctx.grant && !ctx.grant.may(site, operation)) throw new HttpError(403, `this token may not ${operation} at site ${site}`);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Handle a request under `/v1/`; answers 404 for anything else there. */
export async function handleJsonApi(req: IncomingMessage, res: ServerResponse, url: URL, ctx: JsonApiContext): Promise<void> {
  try {
    const match = /^\/v1\/images(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!match) throw new HttpError(404, `no such resource: ${url.pathname}`);
    const guid = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (guid === undefined && req.method === 'POST') return await createImage(req, res, ctx);
    if (guid !== undefined && req.method === 'GET') return await showImage(res, guid, ctx);
    if (guid !== undefined && req.method === 'DELETE') return await deleteImage(res, guid, url.searchParams.get('site') ?? ctx.defaultSite, ctx);
    throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
  } catch (err) {
    const status =
      err instanceof HttpError
        ? err.status
        : err instanceof RegistrationRunningError
          ? 409
          : err instanceof InvalidRequestError
            ? 400
            : err instanceof RegistrationFailedError
              ? 502
              : 503;
    sendJson(res, status, { error: (err as Error).message });
  }
}

async function createImage(req: IncomingMessage, res: ServerResponse, ctx: JsonApiContext): Promise<void> {
  const body = await readJson(req, ctx.maxBodyBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object {url, guid, sites?}');
  const { url, guid: asked, sites } = body as { url?: unknown; guid?: unknown; sites?: unknown };
  const guid = normalizeGuid(asked);
  if (typeof url !== 'string') throw new HttpError(400, 'url: a string is needed (the metadata file URL)');
  const problem = guidProblem(guid);
  if (problem) throw new HttpError(400, `guid: ${problem}`);
  const wanted = sites === undefined ? [ctx.defaultSite] : sites;
  if (!Array.isArray(wanted) || wanted.length === 0 || wanted.some((s) => typeof s !== 'string')) {
    throw new HttpError(400, 'sites: a non-empty array of site names is needed');
  }
  const unknown = (wanted as string[]).filter((s) => !ctx.sites.includes(s));
  if (unknown.length > 0) throw new HttpError(400, `sites: unknown ${unknown.join(', ')} (have ${ctx.sites.join(', ')})`);
  for (const site of wanted as string[]) demand(ctx, site, 'register');
  const handle = await ctx.client.startDistribution({ url, guid: guid as string, sites: wanted as string[], coordinatorSite: ctx.defaultSite });
  const statusUrl = `/v1/images/${guid as string}`;
  res.setHeader('location', statusUrl);
  sendJson(res, 202, { guid, sites: wanted, workflowId: handle.workflowId, statusUrl });
}

async function showImage(res: ServerResponse, askedGuid: string, ctx: JsonApiContext): Promise<void> {
  const guid = normalizeGuid(askedGuid);
  const problem = guidProblem(guid);
  if (problem) throw new HttpError(400, problem);
  // A limited token sees only the sites where it may ask for status.
  const visible = ctx.sites.filter((site) => !ctx.grant || ctx.grant.may(site, 'status'));
  if (visible.length === 0) throw new HttpError(403, `this token may not status at any site (${ctx.sites.join(', ')})`);
  const statuses = (await Promise.all(visible.map((site) => ctx.client.getStatus(guid, site)))).filter((s): s is ImageStatus => !!s);
  if (statuses.length === 0) throw new HttpError(404, `no registration of ${guid} is known at any site`);
  sendJson(res, 200, { guid, sites: statuses });
}

async function deleteImage(res: ServerResponse, askedGuid: string, site: string, ctx: JsonApiContext): Promise<void> {
  const guid = normalizeGuid(askedGuid);
  if (!ctx.sites.includes(site)) throw new HttpError(400, `site: unknown ${site} (have ${ctx.sites.join(', ')})`);
  demand(ctx, site, 'deregister');
  await ctx.client.deregister(guid, site);
  sendJson(res, 200, { guid, site, deregistered: true });
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

/** The request body as UTF-8, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}
