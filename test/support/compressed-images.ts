/** Build ZFILESYSTEM contents for tests: tars (tar-stream) compressed as gzip (zlib), xz (liblzma) or bzip2 (the bzip2 program). */
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import lzma from 'lzma-native';
import tar from 'tar-stream';

export type TestCompression = 'gzip' | 'bzip2' | 'xz';

export async function compress(data: Buffer, how: TestCompression): Promise<Buffer> {
  switch (how) {
    case 'gzip':
      return gzipSync(data);
    case 'bzip2':
      return execFileSync('bzip2', ['-c', '-1'], { input: data, maxBuffer: 1 << 30 });
    case 'xz': {
      const c = lzma.createCompressor({ preset: 1 });
      const out: Buffer[] = [];
      c.on('data', (b: Buffer) => out.push(b));
      const done = new Promise((r, j) => c.on('end', r).on('error', j));
      c.end(data);
      await done;
      return Buffer.concat(out);
    }
  }
}

export interface TarMember {
  name: string;
  data?: Buffer;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

export async function tarOf(members: TarMember[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) out.push(chunk as Buffer);
  })();
  for (const m of members) {
    const header = { name: m.name, type: m.type ?? 'file', ...(m.linkname ? { linkname: m.linkname } : {}) };
    const body = m.type === 'file' || m.type === undefined ? (m.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

/** Bytes that look a little like a filesystem: compressible, but not trivially. */
export function compressibleImage(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 64) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    buf.write(`block ${i} seed ${seed} value ${x.toString(16)}\n`, i, 'latin1');
  }
  return buf;
}
