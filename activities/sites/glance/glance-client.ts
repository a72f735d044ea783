/**
 * A small client of the OpenStack Image API v2 (only what a site backend needs): images by name
 * or tag, create, JSON-patch, tags, delete, and the data upload (streamed from a file, see
 * upload-image-data.ts). Every call carries the site's token; a 401 renews it once where it can be
 * renewed. Answers that are not a success become typed failures (glance-failures.ts).
 */
import { httpFailure, siteRejected, unreachable } from './glance-failures.js';
import type { TokenSource } from './keystone-tokens.js';

/** An image as Glance answers it: core fields, and every extra property as a string. */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  tags: string[];
  visibility: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  checksum: string | null;
  os_hash_algo?: string | null;
  os_hash_value?: string | null;
  created_at: string;
  updated_at: string;
  [property: string]: unknown;
}

export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: string } | { op: 'remove'; path: string };

export interface GlanceClient {
  readonly site: string;
  readonly tokens: TokenSource;
  getImage(id: string): Promise<GlanceImage | undefined>;
  /** Every image matching the filters (`name`, `tag`, `status`…), following pages. */
  listImages(filters: Record<string, string>): Promise<GlanceImage[]>;
  createImage(fields: Record<string, unknown>): Promise<GlanceImage>;
  patchImage(id: string, ops: JsonPatchOp[]): Promise<GlanceImage>;
  addTag(id: string, tag: string): Promise<void>;
  removeTag(id: string, tag: string): Promise<void>;
  /** Delete; an image that is gone already is not an error. */
  deleteImage(id: string): Promise<void>;
  /** Start the interoperable import of staged data (`glance-direct`). */
  importStaged(id: string): Promise<void>;
  /** One authenticated request (also used for the data upload's token and URL). */
  request(method: string, path: string, init?: { body?: string; contentType?: string; okStatuses?: number[] }): Promise<Response>;
}

export function createGlanceClient(options: { site: string; tokens: TokenSource; signal?: AbortSignal }): GlanceClient {
  const { site, tokens } = options;

  async function request(
    method: string,
    path: string,
    init: { body?: string; contentType?: string; okStatuses?: number[] } = {},
  ): Promise<Response> {
    const what = `Glance ${method} ${path.split('?')[0]}`;
    for (let attempt = 0; ; attempt++) {
      const base = await tokens.imageUrl(options.signal);
      const token = await tokens.token(options.signal);
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...(token ? { 'X-Auth-Token': token } : {}),
            ...(init.contentType ? { 'Content-Type': init.contentType } : {}),
            Accept: 'application/json',
          },
          ...(init.body !== undefined ? { body: init.body } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        throw unreachable(site, `Glance ${base}`, err);
      }
      if (response.status === 401) {
        await response.body?.cancel();
        if (attempt === 0 && tokens.refused(token)) continue;
        throw siteRejected(site, `${what} refused the site's token (401: expired or revoked) and no new one can be had; check the credentials`);
      }
      if (response.ok || init.okStatuses?.includes(response.status)) return response;
      throw httpFailure(site, what, response.status, await response.text().catch(() => ''));
    }
  }

  const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

  return {
    site,
    tokens,
    request,
    async getImage(id) {
      const response = await request('GET', `/v2/images/${encodeURIComponent(id)}`, { okStatuses: [404] });
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      return json<GlanceImage>(response);
    },
    async listImages(filters) {
      const images: GlanceImage[] = [];
      let next: string | undefined = `/v2/images?${new URLSearchParams({ limit: '200', ...filters }).toString()}`;
      while (next) {
        const page: { images: GlanceImage[]; next?: string } = await json(await request('GET', next));
        images.push(...page.images);
        next = page.next;
      }
      return images;
    },
    async createImage(fields) {
      return json<GlanceImage>(await request('POST', '/v2/images', { body: JSON.stringify(fields), contentType: 'application/json' }));
    },
    async patchImage(id, ops) {
      const response = await request('PATCH', `/v2/images/${encodeURIComponent(id)}`, {
        body: JSON.stringify(ops),
        contentType: 'application/openstack-images-v2.1-json-patch',
      });
      return json<GlanceImage>(response);
    },
    async addTag(id, tag) {
      await (await request('PUT', `/v2/images/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`)).body?.cancel();
    },
    async removeTag(id, tag) {
      const response = await request('DELETE', `/v2/images/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`, { okStatuses: [404] });
      await response.body?.cancel();
    },
    async deleteImage(id) {
      const response = await request('DELETE', `/v2/images/${encodeURIComponent(id)}`, { okStatuses: [404] });
      await response.body?.cancel();
    },
    async importStaged(id) {
      const response = await request('POST', `/v2/images/${encodeURIComponent(id)}/import`, {
        body: JSON.stringify({ method: { name: 'glance-direct' } }),
        contentType: 'application/json',
      });
      await response.body?.cancel();
    },
  };
}
