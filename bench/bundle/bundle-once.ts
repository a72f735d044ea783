/**
 * One bundle of an image into local parts, as the eucalyptus backend makes it (child process of
 * bench-bundle.ts, so its peak RSS is its own). Prints a JSON line: seconds, parts, bytes, maxRssKiB.
 *   tsx bench/bundle/bundle-once.ts <image> <out-dir> [threads]
 */
import { randomBytes } from 'node:crypto';
import { bundleImage } from '../../activities/sites/eucalyptus/bundle-image.js';

const [image, outDir, threads = '2'] = process.argv.slice(2);
if (!image || !outDir) throw new Error('usage: bundle-once.ts <image> <out-dir> [threads]');
const started = process.hrtime.bigint();
const result = await bundleImage({
  imagePath: image,
  name: 'image',
  workDir: outDir,
  key: randomBytes(16),
  iv: randomBytes(16),
  threads: Number(threads),
  onPart: async () => undefined, // keep the parts on disk, as the shell pipeline does
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  JSON.stringify({ seconds, parts: result.parts.length, bundledBytes: result.bundledSize, maxRssKiB: process.resourceUsage().maxRSS }),
);
