/**
 * writeToFile: after a failed pipeline the file on disk is final (no late write grows it), which
 * resume and clean-up both rely on.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeToFile } from '../../../activities/files/file-closed.js';
import { newTestDir } from '../../support/image-proxy-world.js';

/** Many 64 KiB chunks in one burst, then an error: writes are still queued when the pipeline fails. */
function burstThenFail(chunks: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: 64 << 20,
    read() {
      while (sent < chunks) {
        sent++;
        if (!this.push(Buffer.alloc(64 << 10, sent))) return;
      }
      this.destroy(new Error('connection reset'));
    },
  });
}

describe('writeToFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await newTestDir('write-to-file');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects only once the file is closed, so its size no longer changes', async () => {
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `grow-${i}`);
      let file: Writable | undefined;
      const writing = writeToFile(path, 0, (f) => pipeline(burstThenFail(64), (file = f)));
      await expect(writing).rejects.toThrow('connection reset');
      // A bare pipeline() rejects while the descriptor is still open and a write may be in flight.
      expect(file?.closed).toBe(true);
      const atRejection = (await stat(path)).size;
      await sleep(20);
      expect((await stat(path)).size).toBe(atRejection);
    }
  });

  it('passes the result through when the write succeeds', async () => {
    const path = join(dir, 'ok');
    await writeToFile(path, 0, (file) => pipeline(Readable.from([Buffer.from('filesystem')]), file));
    expect((await stat(path)).size).toBe(10);
  });
});
