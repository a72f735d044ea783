/**
 * A worker killed while it publishes to the `local` site leaves its staging directory in the site
 * directory. Its name carries the dead process, so the next registration removes it; the staging
 * of a process that still runs (another worker publishing now) is left alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCRATCH_OWNER } from '../../../../activities/files/scratch-owner.js';
import { createLocalSite } from '../../../../activities/sites/local/local-site.js';
import { writePart } from '../../../support/cached-parts.js';
import { newTestDir } from '../../../support/image-proxy-world.js';

describe('local site staging left by a killed worker', () => {
  let dir = '';
  afterAll(async () => {
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  it('is removed by the next registration; a live process\'s staging stays', async () => {
    dir = await newTestDir('local-staging');
    const siteDir = join(dir, 'site');
    const guid = 'a'.repeat(40);
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const dead = `.staging-${guid}-${SCRATCH_OWNER.replace(/p\d+$/, `p${deadPid}`)}-0badf00d`;
    const live = `.staging-${'b'.repeat(40)}-${SCRATCH_OWNER}-0c0ffee0`;
    for (const name of [dead, live]) {
      await mkdir(join(siteDir, name), { recursive: true });
      await writeFile(join(siteDir, name, 'FILESYSTEM'), 'half a copy');
    }
    const site = createLocalSite({ site: 'local-staging', dir: siteDir });
    const parts = [await writePart(dir, 'FILESYSTEM', 1 << 20), await writePart(dir, 'KERNEL', 1 << 16)];
    const ids = await site.register({ guid: 'c'.repeat(40), metadataUrl: 'http://origin.invalid/image.xml', parts, rawImageOf: (p) => Promise.resolve(p.path) });
    expect(Object.keys(ids).sort()).toEqual(['FILESYSTEM', 'KERNEL']);
    expect((await readdir(siteDir)).sort()).toEqual([live, 'c'.repeat(40)].sort());
  });
});
