/**
 * One conformance suite for every `Transport`: a fetch lands the exact bytes with their hash and
 * reports progress up to the total; the hash answered is that of the bytes written (so the caller
 * catches content that is not what the metadata says); a cancelled fetch stops writing and
 * rejects; the next attempt, handed the last progress as `downloadPart` hands its last heartbeat,
 * resumes it to the right bytes; nothing is left beside the destination.
 * Adding a transport = one `<name>-harness.ts` under test/activities/transports/.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetchRequest, TransferProgress, Transport } from '../../../activities/transports/transport.js';
import { pseudoRandomBytes } from '../../../client/demo/sample-image.js';
import { newTestDir } from '../../support/image-proxy-world.js';

/** Content the suite asks a harness to serve; `slow` content arrives slowly enough to interrupt. */
export interface ServedContent {
  data: Buffer;
  slow?: boolean;
}

export interface TransportHarness {
  transport: Transport;
  /** The URL of each content, in the order asked. */
  urls: string[];
  /** Bytes the origin sent of content `i` so far, where the harness can tell. */
  bytesServed?(i: number): number;
  dispose?(): Promise<void>;
}

export interface TransportHarnessFactory {
  name: string;
  start(dir: string, contents: readonly ServedContent[]): Promise<TransportHarness>;
}

const KiB = 1024;
const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');

export function describeTransportConformance({ name, start }: TransportHarnessFactory): void {
  describe(`Transport conformance: ${name}`, () => {
    const seed = Math.floor(Math.random() * 1e6);
    const contents: ServedContent[] = [
      { data: pseudoRandomBytes(256 * KiB, seed) },
      { data: pseudoRandomBytes(300 * KiB, seed + 1) },
      { data: pseudoRandomBytes(6 * 1024 * KiB, seed + 2), slow: true },
    ];
    let dir: string;
    let harness: TransportHarness;
    let n = 0;

    beforeAll(async () => {
      dir = await newTestDir(`transport-${name.replace(/\W+/g, '-')}`);
      harness = await start(dir, contents);
    });
    afterAll(async () => {
      await harness?.dispose?.();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** A request for content `i` into a fresh destination directory. */
    async function requestFor(i: number, extra: Partial<FetchRequest> = {}): Promise<FetchRequest & { destDir: string }> {
      const destDir = join(dir, `dest-${++n}`);
      await mkdir(destDir, { recursive: true });
      const destPath = join(destDir, 'part');
      return { url: harness.urls[i]!, destPath, hashAlgorithm: 'sha1', resume: { statePath: `${destPath}.resume` }, destDir, ...extra };
    }

    it('lands the exact bytes with their hash, reporting progress up to the total', async () => {
      const req = await requestFor(0);
      const seen: TransferProgress[] = [];
      const got = await harness.transport.fetchToFile({ ...req, onProgress: (p) => seen.push({ ...p }) });
      expect(got.bytes).toBe(contents[0]!.data.length);
      expect(got.hashHex).toBe(sha1(contents[0]!.data));
      expect(sha1(await readFile(req.destPath))).toBe(got.hashHex);
      expect(seen.length).toBeGreaterThan(0);
      const done = seen.map((p) => p.bytesDone);
      expect(done).toEqual([...done].sort((a, b) => a - b)); // never goes back
      expect(Math.max(...done)).toBeLessThanOrEqual(contents[0]!.data.length);
    });

    it('answers the hash of the bytes it wrote, so content other than the expected is caught', async () => {
      const [a, b] = [await requestFor(0), await requestFor(1)];
      const [gotA, gotB] = [await harness.transport.fetchToFile(a), await harness.transport.fetchToFile(b)];
      expect(gotA.hashHex).toBe(sha1(await readFile(a.destPath)));
      expect(gotB.hashHex).toBe(sha1(await readFile(b.destPath)));
      // What the caller compares with the metadata's hash: the wrong content never matches.
      expect(gotB.hashHex).not.toBe(sha1(contents[0]!.data));
    });

    it('a cancelled fetch rejects and stops writing; the next attempt resumes it to the right bytes; nothing stray is left', async () => {
      const req = await requestFor(2);
      const abort = new AbortController();
      let firstProgress = 0;
      let lastProgress: TransferProgress | undefined;
      const cancelled = harness.transport.fetchToFile({
        ...req,
        signal: abort.signal,
        onProgress: (p) => {
          lastProgress = p;
          if (p.bytesDone > 0 && !firstProgress) {
            firstProgress = p.bytesDone;
            abort.abort(new Error('cancelled by the test'));
          }
        },
      });
      await expect(cancelled).rejects.toBeDefined();
      const sizeNow = async (): Promise<number> => (await stat(req.destPath).catch(() => ({ size: 0 }))).size;
      const after = await sizeNow();
      await new Promise((r) => setTimeout(r, 500));
      expect(await sizeNow()).toBe(after); // no writes once the cancel is answered
      const servedBefore = harness.bytesServed?.(2);

      const got = await harness.transport.fetchToFile({ ...req, resume: { ...req.resume!, ...(lastProgress ? { lastProgress } : {}) } });
      expect(got.hashHex).toBe(sha1(contents[2]!.data));
      expect(sha1(await readFile(req.destPath))).toBe(got.hashHex);
      if (servedBefore !== undefined && after > 0) {
        // Resumed: the second attempt did not fetch what the first had kept.
        expect(harness.bytesServed!(2) - servedBefore).toBeLessThanOrEqual(contents[2]!.data.length - after);
      }
      const stray = (await readdir(req.destDir)).filter((f) => f !== 'part' && f !== 'part.resume');
      expect(stray).toEqual([]);
    });
  });
}
