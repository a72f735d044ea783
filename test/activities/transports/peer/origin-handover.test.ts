/** The partial file handed from the peer path to the origin transport: the state file's mark, the cut, the validator put back. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { handOverToOrigin, markWrittenByPeers } from '../../../../activities/transports/peer/origin-handover.js';
import { prefixDigestsOfFile } from '../../../../activities/transports/peer/prefix-digests.js';
import { PIECE_BYTES } from '../../../../common/fleet-contract.js';

describe('handing a peer-written partial file to the origin', () => {
  let dir: string;
  let destPath: string;
  let statePath: string;
  const url = 'http://origin.test/part';
  const httpState = JSON.stringify({ url, validator: '"v1"' });
  const data = pseudoRandomBytes(4 * PIECE_BYTES, 5);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'handover-'));
    destPath = join(dir, 'part');
    statePath = `${destPath}.resume`;
    await writeFile(join(dir, 'whole'), data);
    await writeFile(destPath, data.subarray(0, 3 * PIECE_BYTES));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a file HTTP wrote itself (no mark) is left as it is', async () => {
    await writeFile(statePath, httpState);
    expect(await handOverToOrigin({ url, destPath, resume: { statePath } }, undefined, 'sha1')).toBeUndefined();
    expect((await stat(destPath)).size).toBe(3 * PIECE_BYTES);
    expect(await readFile(statePath, 'utf8')).toBe(httpState);
  });

  it('with the validator kept under the mark: cut to the pieces that match the digests, the validator put back', async () => {
    await writeFile(statePath, httpState);
    await markWrittenByPeers(statePath);
    expect(await readFile(statePath, 'utf8')).not.toBe(httpState);
    const bytes = await readFile(destPath);
    bytes[2 * PIECE_BYTES + 9] = bytes[2 * PIECE_BYTES + 9]! ^ 1;
    await writeFile(destPath, bytes);
    const trusted = await prefixDigestsOfFile(join(dir, 'whole'), data.length, 'sha1');
    expect(await handOverToOrigin({ url, destPath, resume: { statePath } }, trusted, 'sha1')).toBe(2 * PIECE_BYTES);
    expect((await stat(destPath)).size).toBe(2 * PIECE_BYTES);
    expect(await readFile(statePath, 'utf8')).toBe(httpState);
  });

  it('without digests, or without a validator for HTTP to resume with, nothing is kept', async () => {
    await writeFile(statePath, httpState);
    await markWrittenByPeers(statePath);
    expect(await handOverToOrigin({ url, destPath, resume: { statePath } }, undefined, 'sha1')).toBe(0);
    expect((await stat(destPath)).size).toBe(0);

    await writeFile(destPath, data.subarray(0, 3 * PIECE_BYTES));
    await rm(statePath);
    await markWrittenByPeers(statePath);
    const trusted = await prefixDigestsOfFile(join(dir, 'whole'), data.length, 'sha1');
    expect(await handOverToOrigin({ url, destPath, resume: { statePath } }, trusted, 'sha1')).toBe(0);
    expect((await stat(destPath)).size).toBe(0);
    await expect(stat(statePath)).rejects.toThrow();
  });
});
