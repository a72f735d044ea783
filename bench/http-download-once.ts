/**
 * One download the way the worker's download activity does it (HTTP transport with resume state,
 * hash in the same pass, verify, commit into the content cache), in its own process so its peak
 * RSS is ours alone. Prints one JSON line: {ms, bytes, maxRssKiB}.
 *   npx tsx bench/http-download-once.ts URL SHA1 CACHE_DIR
 */
import { HttpSchema } from '../config/config-schema.js';
import { ContentCache } from '../activities/cache/content-cache.js';
import { createHttpTransport } from '../activities/transports/http-transport.js';

const [url, sha1, cacheDir] = process.argv.slice(2);
if (!url || !sha1 || !cacheDir) throw new Error('usage: http-download-once.ts URL SHA1 CACHE_DIR');

const hash = { algorithm: 'sha1' as const, hex: sha1 };
const cache = new ContentCache(cacheDir);
await cache.init();
const transport = createHttpTransport({ config: HttpSchema.parse({ allowedNetworks: ['127.0.0.0/8'] }) }); // the origin is on loopback
let latest = 0;
const started = performance.now();
const got = await transport.fetchToFile({
  url,
  destPath: cache.partialPathOf(hash),
  hashAlgorithm: 'sha1',
  resume: { statePath: cache.resumeStatePathOf(hash) },
  onProgress: (p) => (latest = p.bytesDone), // the activity keeps the latest progress the same way
});
if (got.hashHex !== sha1) throw new Error(`hash mismatch: ${got.hashHex} != ${sha1}`);
await cache.commit(hash);
const ms = performance.now() - started;
console.log(JSON.stringify({ ms, bytes: got.bytes, progressSeen: latest, maxRssKiB: process.resourceUsage().maxRSS }));
