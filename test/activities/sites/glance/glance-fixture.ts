/** A `glance` backend for tests, configured as a worker would be, plus direct reads of Glance. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { CachedPart } from '../../../../common/image-types.js';
import { createGlanceSite, type GlanceSite } from '../../../../activities/sites/glance/glance-site.js';
import { GlanceSiteSchema, resolveGlanceSite } from '../../../../activities/sites/glance/glance-site-options.js';
import { createTokenSource } from '../../../../activities/sites/glance/keystone-tokens.js';
import { uniqueName } from '../../../support/image-proxy-world.js';

const run = promisify(execFile);

/** A site as a worker builds it from `options` (a config entry); `clock` moves its token clock. */
export async function glanceSite(configDir: string, options: Record<string, unknown>, opts: { clock?: () => number } = {}): Promise<GlanceSite> {
  const config = GlanceSiteSchema.parse({ type: 'glance', pollIntervalSeconds: 0.1, ...options });
  const settings = await resolveGlanceSite(config, { site: uniqueName('glance'), configDir });
  if (!opts.clock) return createGlanceSite({ settings });
  const tokens = createTokenSource({
    site: settings.site,
    auth: settings.auth,
    interface: settings.interface,
    clock: opts.clock,
    ...(settings.imageUrl ? { imageUrl: settings.imageUrl } : {}),
    ...(settings.region ? { region: settings.region } : {}),
  });
  return createGlanceSite({ settings, tokens });
}

export interface GlanceImageView {
  id: string;
  name: string;
  status: string;
  tags: string[];
  disk_format: string;
  container_format: string;
  visibility: string;
  os_hash_algo: string;
  os_hash_value: string;
  [property: string]: unknown;
}

/** Glance read directly (not through the backend), as an operator with `openstack image show` would. */
export function glanceReader(url: string, token?: () => Promise<string>) {
  const headers = async (): Promise<Record<string, string>> => (token ? { 'X-Auth-Token': await token() } : {});
  return {
    async image(id: string): Promise<GlanceImageView | undefined> {
      const r = await fetch(`${url}/v2/images/${id}`, { headers: await headers() });
      if (r.status === 404) return undefined;
      if (!r.ok) throw new Error(`GET image ${id}: ${r.status}`);
      return (await r.json()) as GlanceImageView;
    },
    async images(filters: Record<string, string> = {}): Promise<GlanceImageView[]> {
      const r = await fetch(`${url}/v2/images?${new URLSearchParams({ limit: '1000', ...filters }).toString()}`, { headers: await headers() });
      if (!r.ok) throw new Error(`GET images: ${r.status}`);
      return ((await r.json()) as { images: GlanceImageView[] }).images;
    },
    async data(id: string): Promise<Buffer> {
      const r = await fetch(`${url}/v2/images/${id}/file`, { headers: await headers() });
      if (!r.ok) throw new Error(`GET image ${id} data: ${r.status}`);
      return Buffer.from(await r.arrayBuffer());
    },
    async remove(id: string): Promise<void> {
      const r = await fetch(`${url}/v2/images/${id}`, { method: 'DELETE', headers: await headers() });
      if (!r.ok && r.status !== 404) throw new Error(`DELETE image ${id}: ${r.status}`);
    },
    /** What a write that read the image before a tag appeared does (Glance saves whole images): the tag gone again. */
    async removeTag(id: string, tag: string): Promise<void> {
      const r = await fetch(`${url}/v2/images/${id}/tags/${encodeURIComponent(tag)}`, { method: 'DELETE', headers: await headers() });
      if (!r.ok && r.status !== 404) throw new Error(`DELETE tag ${tag} of image ${id}: ${r.status}`);
    },
    async create(fields: Record<string, unknown>): Promise<GlanceImageView> {
      const r = await fetch(`${url}/v2/images`, { method: 'POST', headers: { ...(await headers()), 'Content-Type': 'application/json' }, body: JSON.stringify(fields) });
      if (!r.ok) throw new Error(`POST image: ${r.status} ${await r.text()}`);
      return (await r.json()) as GlanceImageView;
    },
  };
}

export async function sha512Of(path: string): Promise<string> {
  return createHash('sha512').update(await readFile(path)).digest('hex');
}

/** A real QCOW2 file (qemu-img) made from `raw`, as the cache would hold a QCOW2 part. */
export async function qcow2PartFrom(raw: CachedPart): Promise<CachedPart> {
  const path = raw.path.replace(/\.img$/, '.qcow2');
  await rm(path, { force: true });
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw.path, path]);
  const data = await readFile(path);
  return {
    type: 'QCOW2',
    hash: { algorithm: 'sha1', hex: createHash('sha1').update(data).digest('hex') },
    url: raw.url.replace(/\.img$/, '.qcow2'),
    path,
    size: data.length,
  };
}
