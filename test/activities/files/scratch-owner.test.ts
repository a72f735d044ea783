/**
 * Scratch left by a killed worker (a Eucalyptus bundle directory with its part files, metadata
 * and metainfo temp files) is removed at the next worker start; a live process's scratch stays.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCRATCH_OWNER, ownerGone, sweepScratch } from '../../../activities/files/scratch-owner.js';
import { newTestDir } from '../../support/image-proxy-world.js';

/** The pid of a process that has exited (a real one, not a guess). */
function goneOwner(): string {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return SCRATCH_OWNER.replace(/p\d+$/, `p${child.stdout}`);
}

describe('scratch keyed by its process', () => {
  it('removes the bundle directories and temp files of a gone process, keeps a live one’s and foreign names', async () => {
    const tmp = await newTestDir('scratch');
    const dead = goneOwner();
    const euca = join(tmp, 'eucalyptus', 'site-a');
    await mkdir(join(euca, `bundle-${dead}-AbC123`), { recursive: true });
    await writeFile(join(euca, `bundle-${dead}-AbC123`, 'image.part.0'), Buffer.alloc(1 << 20));
    await mkdir(join(euca, `bundle-${SCRATCH_OWNER}-XyZ789`), { recursive: true });
    await writeFile(join(tmp, `metadata-${'a'.repeat(40)}-${dead}-0a1b2c3d`), 'x');
    await writeFile(join(tmp, `metainfo-${dead}-0a1b2c3d4e5f.torrent`), 'x');
    await writeFile(join(tmp, 'notes.txt'), 'not scratch');

    const removed = await sweepScratch(tmp);
    expect(removed.length).toBe(3);
    expect(await readdir(euca)).toEqual([`bundle-${SCRATCH_OWNER}-XyZ789`]);
    expect((await readdir(tmp)).sort()).toEqual(['eucalyptus', 'notes.txt']);
  });

  it('judges only names of this host', () => {
    expect(ownerGone(`bundle-h00000000p1-abc`)).toBe(false);
    expect(ownerGone(`bundle-${SCRATCH_OWNER}-abc`)).toBe(false);
    expect(ownerGone('bundle-abc')).toBe(false);
  });
});
