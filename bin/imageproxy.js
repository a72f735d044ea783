#!/usr/bin/env -S node --single-threaded-gc
// Runs the compiled CLI (`npm run build` writes dist/). Without a build, or with
// IMAGEPROXY_FROM_SOURCE=1 (development), it runs the TypeScript through tsx instead.
// --single-threaded-gc: V8's parallel GC helper threads cost a worker more CPU than they save on
// a busy host (BitTorrent downloads allocate buffers fast; see docs/transports.md, CPU).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/client/cli/main.js', import.meta.url);
if (process.env.IMAGEPROXY_FROM_SOURCE !== '1' && existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../client/cli/main.ts');
}
