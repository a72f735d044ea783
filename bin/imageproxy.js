#!/usr/bin/env -S node --single-threaded-gc
// Runs the TypeScript CLI directly (tsx), so a fresh clone needs no build step.
// --single-threaded-gc: V8's parallel GC helper threads cost a worker more CPU than they save on
// a busy host (BitTorrent downloads allocate buffers fast; see docs/transports.md, CPU).
import { register } from 'tsx/esm/api';

register();
await import('../client/cli.ts');
