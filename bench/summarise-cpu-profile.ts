/**
 * The self time of a .cpuprofile (from `node --cpu-prof` or bench/cpu-profile-window.ts), by
 * function and by package, largest first; idle time left out.
 *
 *   npx tsx bench/summarise-cpu-profile.ts FILE.cpuprofile [--top 40]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<pkg>/…` → the package name; project files by path; V8's entries by name. */
function place(frame: CallFrame): { file: string; pkg: string } {
  const file = frame.url.replace(/^.*node_modules\//, 'npm:').replace(/^file:\/\/.*?\/(activities|bench|common|test|config|client)\//, '$1/');
  if (file.startsWith('npm:')) {
    const parts = file.slice(4).split('/');
    return { file, pkg: parts.slice(0, parts[0]!.startsWith('@') ? 2 : 1).join('/') };
  }
  if (file.startsWith('node:')) return { file, pkg: file.split('/')[0]! };
  return { file, pkg: file || frame.functionName };
}

function summarise(profile: CpuProfile): { totalUs: number; byFunction: [string, number][]; byPackage: [string, number][] } {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    totalUs += us;
    const { file, pkg } = place(frame);
    const fn = `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  });
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return { totalUs, byFunction: sorted(byFunction), byPackage: sorted(byPackage) };
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
if (positionals.length !== 1) throw new Error('usage: summarise-cpu-profile.ts FILE.cpuprofile [--top N]');
const top = Number(values.top);
const s = summarise(JSON.parse(await readFile(positionals[0]!, 'utf8')) as CpuProfile);
const line = ([name, us]: [string, number]): string => `${(us / 1e6).toFixed(3).padStart(8)} s  ${(100 * us / s.totalUs).toFixed(1).padStart(5)} %  ${name}`;
console.log(`main thread, not idle: ${(s.totalUs / 1e6).toFixed(2)} s (GC on helper threads and libuv's pool not included)`);
console.log('by function (self time):');
for (const e of s.byFunction.slice(0, top)) console.log(line(e));
console.log('by package or file:');
for (const e of s.byPackage.slice(0, 20)) console.log(line(e));
