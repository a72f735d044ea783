import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultSiteOf, loadConfig, parseConfig } from '../../config/load-config.js';
import { newTestDir } from '../support/image-proxy-world.js';

describe('loadConfig', () => {
  it('means one local site when the default file is absent', async () => {
    const dataDir = await newTestDir('config');
    const config = await loadConfig({ dataDir, env: {} });
    expect(config.sites).toEqual({ local: { type: 'local' } });
    expect(defaultSiteOf(config)).toBe('local');
  });

  it('reads <data>/config.json and applies defaults', async () => {
    const dataDir = await newTestDir('config');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ sites: { a: { type: 'local', dir: '/srv/a' }, b: { type: 'local' } }, defaultSite: 'b' }));
    const config = await loadConfig({ dataDir, env: {} });
    expect(defaultSiteOf(config)).toBe('b');
    expect(config.http.maxRedirects).toBe(5);
  });

  it('fails on a named file that does not exist', async () => {
    const dataDir = await newTestDir('config');
    await expect(loadConfig({ dataDir, env: { IMAGEPROXY_CONFIG: join(dataDir, 'nope.json') } })).rejects.toThrow(/nope\.json: cannot read/);
  });

  it.each([
    ['not JSON', '{sites:', /broken\.json: not valid JSON/],
    ['an unknown site type', '{"sites":{"x":{"type":"openstack"}}}', /broken\.json: sites\.x\.type: Invalid discriminator value/],
    ['a bad site name', '{"sites":{"../x":{"type":"local"}}}', /broken\.json: sites\.\.\.\/x: site names are letters/],
    ['no sites', '{"sites":{}}', /broken\.json: sites: at least one site is needed/],
    ['an unknown key', '{"sites":{"a":{"type":"local","dri":"/x"}}}', /broken\.json: sites\.a: Unrecognized key\(s\) in object: 'dri'/],
    ['a default site that does not exist', '{"sites":{"a":{"type":"local"}},"defaultSite":"b"}', /broken\.json: defaultSite: no site named b/],
  ])('names the file, the key and the problem for %s', (_name, text, message) => {
    expect(() => parseConfig(text, '/etc/imageproxy/broken.json')).toThrow(ConfigError);
    expect(() => parseConfig(text, '/etc/imageproxy/broken.json')).toThrow(message);
  });
});
