/**
 * A sample image to show the whole path without a real image server: generated parts (a
 * filesystem, a kernel and a ramdisk of pseudo-random bytes), the metadata file listing them,
 * and a small HTTP origin on loopback that serves them.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { PartType } from '../../common/image-types.js';

export interface SamplePart {
  type: PartType;
  file: string;
  sha1: string;
  size: number;
}

export interface SampleImage {
  dir: string;
  parts: SamplePart[];
  /** The metadata XML, given the base URL its parts are served from. */
  metadataFor(baseUrl: string): string;
}

/** Deterministic pseudo-random bytes (xorshift), so that each seed gives a different image. */
export function pseudoRandomBytes(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, Math.min(i, size - 4));
  }
  return buf;
}

export async function writeSampleImage(
  dir: string,
  opts: { seed?: number; sizes?: Partial<Record<PartType, number>> } = {},
): Promise<SampleImage> {
  await mkdir(dir, { recursive: true });
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const sizes = opts.sizes ?? { FILESYSTEM: 4 << 20, KERNEL: 1 << 20, RAMDISK: 2 << 20 };
  const parts: SamplePart[] = [];
  let n = 0;
  for (const [type, size] of Object.entries(sizes) as [PartType, number][]) {
    const data = pseudoRandomBytes(size, seed * 31 + ++n);
    const file = `${type.toLowerCase()}-${seed}.img`;
    await writeFile(join(dir, file), data);
    parts.push({ type, file, size, sha1: createHash('sha1').update(data).digest('hex') });
  }
  return {
    dir,
    parts,
    metadataFor: (baseUrl) =>
      `<?xml version="1.0"?>\n<images>\n${parts
        .map((p) => `  <image>\n    <type>${p.type}</type>\n    <signature>${p.sha1}</signature>\n    <url>${baseUrl}/${p.file}</url>\n  </image>\n`)
        .join('')}</images>\n`,
  };
}

export function sha1Hex(data: string | Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/** Serve the files of `dir` on loopback (GET only). */
export async function serveDirectory(dir: string): Promise<{ baseUrl: string; server: Server }> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    if (req.method !== 'GET' || name.includes('/') || name.startsWith('.')) {
      res.writeHead(404).end();
      return;
    }
    const path = join(dir, name);
    stat(path).then(
      (s) => {
        res.writeHead(200, { 'content-length': s.size });
        createReadStream(path).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { baseUrl: `http://127.0.0.1:${port}`, server };
}
