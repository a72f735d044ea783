/**
 * bench/fleet: one image to N sites, each served by its own `imageproxy worker` process (own data
 * dir, host id, site, peer port) on this machine, from one origin that counts the bytes it sends
 * and can be capped. Scenarios, each on fresh hosts: one site alone and N sites in one
 * `imageproxy register --site s1 … --site sN`, for HTTP-only metadata and for a torrent whose web
 * seed is the origin; then N plain aria2c leechers of the same torrent as the baseline. Prints
 * origin egress (× the image), wall time, CPU seconds per site and the load average.
 *
 *   npx tsx bench/fleet/run.ts [--sites 10] [--size-mib 512] [--origin-rate-mib 50] [--modes http,torrent] [--no-aria2] [--keep]
 *
 * `--keep` leaves the hosts' data dirs (their worker.log) to read; `--work-dir DIR` puts them elsewhere than .bench-tmp/.
 * They are large: each host keeps its cache and its site's copy, about 12 GB for the defaults. The
 * bench prints the size at the end; delete them when done (four kept runs filled this machine's disk).
 * `--cpu-prof DIR` writes each worker's CPU profile there (read with bench/summarise-cpu-profile.ts);
 * `--node-args="…"` passes other node options to the workers (e.g. `--trace-gc`, into each worker.log).
 * It builds first (`npm run build`): the workers run the compiled dist/, which must be this tree.
 *
 * Long (minutes): not part of `npm test`. Figures go to docs/fleet.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { pseudoRandomBytes } from '../../client/demo/sample-image.js';
import { distributeWorkflowId, registerWorkflowId } from '../../common/naming.js';
import { bundleWorkflows } from '../../workers/workflow-source.js';
import { startDevServer } from '../../workers/temporal-cli.js';
import { workerDeployment } from '../../workers/worker-deployment.js';
import { freePort, makeTorrent, metadataXml, startOpentracker } from '../../test/support/bittorrent-peers.js';
import { startFleetHost, writeTokenFile, type FleetHost } from '../../test/support/fleet-hosts.js';
import { CountingOrigin } from './counting-origin.js';

const { values } = parseArgs({
  options: {
    sites: { type: 'string', default: '10' },
    'size-mib': { type: 'string', default: '512' },
    'origin-rate-mib': { type: 'string', default: '0' },
    modes: { type: 'string', default: 'http,torrent' },
    'no-aria2': { type: 'boolean', default: false },
    'work-dir': { type: 'string', default: '.bench-tmp' },
    keep: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'node-args': { type: 'string', default: '' },
  },
});
const siteCount = Number(values.sites);
const size = Number(values['size-mib']) << 20;
const rateMiB = Number(values['origin-rate-mib']);
const modes = values.modes.split(',') as ('http' | 'torrent')[];
const root = resolve(values['work-dir'], `fleet-${Date.now()}`);
const CLI = resolve('bin/imageproxy.js');
const nodeArgs = [
  ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`] : []),
  ...values['node-args'].split(' ').filter(Boolean),
];

interface Figures {
  scenario: string;
  /** From the run's start to its close, in Temporal. */
  wallS: number;
  /** The whole `imageproxy register` command. */
  commandS?: number;
  egress: number;
  cpuS: number[];
  /** Busy CPU seconds of the Temporal server and of the whole machine (all processes) during the run. */
  temporalCpuS?: number;
  machineCpuS?: number;
  /** Seconds from the run's start until the first and the last host had the part, and until the last registration. */
  firstPartReadyS?: number;
  lastPartReadyS?: number;
  lastRegisteredS?: number;
}

/** user + system CPU seconds of a process so far (from /proc, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy CPU seconds of the whole machine so far (all cores; /proc/stat, clock ticks of 1/100 s). */
async function machineBusySeconds(): Promise<number> {
  const [user, nice, system, , , irq, softirq, steal] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/**
 * Each scenario starts from an empty page cache: ten hosts on one machine share one page cache,
 * and writing into a full one costs reclaim CPU that the scenario before left behind (measured:
 * ten 512 MiB copies took 6.8 s of system CPU into a full page cache, 1.6 s into an empty one).
 * Needs root; without it the bench says so and goes on.
 */
async function resetPageCache(imagePath: string): Promise<boolean> {
  spawnSync('sync');
  const dropped = await writeFile('/proc/sys/vm/drop_caches', '1').then(() => true, () => false);
  // The origin's file back in memory, as it was for every scenario before the drop.
  for await (const chunk of (await open(imagePath)).createReadStream({ highWaterMark: 1 << 20 })) void chunk;
  return dropped;
}

async function writeImage(path: string): Promise<string> {
  const sha1 = createHash('sha1');
  const file = await open(path, 'w');
  const chunk = 64 << 20;
  for (let at = 0, seed = 1; at < size; at += chunk, seed++) {
    const data = pseudoRandomBytes(Math.min(chunk, size - at), seed);
    sha1.update(data);
    await file.write(data);
  }
  await file.close();
  return sha1.digest('hex');
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out })));
}

async function main(): Promise<void> {
  // One build id for every worker of the run: a commit made while it runs must not start workers of
  // a new version that the deployment's current one (this run's first workers) never hands work to.
  process.env.IMAGEPROXY_BUILD_ID ??= workerDeployment().buildId;
  if (spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  await mkdir(root, { recursive: true });
  const load0 = loadavg();
  const temporal = await startDevServer({ headless: true });
  const temporalConnection = await Connection.connect({ address: temporal.address });
  const temporalClient = new Client({ connection: temporalConnection });
  // Bundled once here, not in each of the worker processes (IMAGEPROXY_WORKFLOW_BUNDLE).
  const workflowBundlePath = join(root, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, (await bundleWorkflows()).code);
  const origin = await new CountingOrigin(rateMiB > 0 ? rateMiB << 20 : undefined).start();
  const imagePath = join(root, 'disk.img');
  const sha1 = await writeImage(imagePath);
  const imageUrl = origin.addFile('/disk.img', imagePath, size);
  const probe = await makeTorrent(imagePath, { out: join(root, 'probe.torrent'), pieceLengthExp: 20 });
  const tracker = await startOpentracker([probe.infoHash]);
  const torrent = await makeTorrent(imagePath, { announce: tracker.announceUrl, webSeed: imageUrl, out: join(root, 'disk.torrent'), pieceLengthExp: 20 });
  origin.addFile('/disk.torrent', torrent.path, (await readFile(torrent.path)).length);
  const results: Figures[] = [];

  let scenarioNo = 0;
  async function scenario(name: string, partUrl: string, sites: number): Promise<Figures> {
    const tag = `${name}-${++scenarioNo}`;
    const dir = join(root, tag);
    await mkdir(dir, { recursive: true });
    const tokenFile = await writeTokenFile(dir);
    const siteNames = Array.from({ length: sites }, (_, i) => `${tag}-s${i + 1}`);
    const started: FleetHost[] = [];
    try {
      const hosts: FleetHost[] = await Promise.all(
        siteNames.map(async (site, i) => {
          const dataDir = join(dir, `host${i + 1}`);
          await mkdir(dataDir, { recursive: true });
          const peer = { listen: `127.0.0.1:${await freePort()}` };
          return startFleetHost({ site, dataDir, hostId: `${tag}-host${i + 1}`, temporalAddress: temporal.address, tokenFile, peer, workflowBundlePath, started, nodeArgs });
        }),
      );
      // A metadata file of its own (so a GUID of its own) for each scenario.
      const xml = metadataXml([{ type: 'FILESYSTEM', sha1, url: `${partUrl}?scenario=${tag}` }]);
      const metadataUrl = origin.addText(`/${tag}/image.xml`, xml);
      const guid = createHash('sha1').update(xml).digest('hex');
      const clientConfig = join(dir, 'client.json');
      await writeFile(clientConfig, JSON.stringify({ sites: Object.fromEntries(siteNames.map((s) => [s, { type: 'local' }])) }));
      if (!(await resetPageCache(imagePath))) console.log('  (page cache not reset: needs root)');
      const cpu0 = await Promise.all(hosts.map((h) => cpuSeconds(h.program.child.pid!)));
      const temporalCpu0 = await cpuSeconds(temporal.pid!);
      const machineCpu0 = await machineBusySeconds();
      origin.resetCount();
      const startedAt = Date.now();
      // --json: no progress lines, so the command adds no status polling to what is measured.
      const { code, out } = await run(process.execPath, [CLI, 'register', '--json', '--url', metadataUrl, '--guid', guid, ...siteNames.flatMap((s) => ['--site', s])], {
        ...process.env,
        TEMPORAL_ADDRESS: temporal.address,
        IMAGEPROXY_CONFIG: clientConfig,
        IMAGEPROXY_DATA_DIR: join(dir, 'client'),
      });
      const workflowId = sites === 1 ? registerWorkflowId(siteNames[0]!, guid) : distributeWorkflowId(guid, siteNames, 'register');
      if (code !== 0) {
        // A loaded Temporal server may time out the command's long poll; the run goes on: wait here.
        if (!/Failed to get Workflow execution history/.test(out)) throw new Error(`${tag}: register exited with ${code}: ${out}`);
        console.log(`  (${tag}: the command lost its wait for the result; waiting through the client)`);
        await temporalClient.workflow.getHandle(workflowId).result();
      }
      const commandS = (Date.now() - startedAt) / 1000;
      // The run's own time in Temporal (the command's adds the CLI's start, the same in every scenario).
      const described = await temporalClient.workflow.getHandle(workflowId).describe();
      const wallS = (described.closeTime!.getTime() - described.startTime.getTime()) / 1000;
      const cpu1 = await Promise.all(hosts.map((h) => cpuSeconds(h.program.child.pid!)));
      const phases = await phaseTimes(hosts, described.startTime.getTime());
      const figures: Figures = {
        scenario: `${name}, ${sites} site${sites > 1 ? 's' : ''}`,
        wallS,
        commandS,
        egress: origin.bytesSent / size,
        cpuS: cpu1.map((c, i) => c - cpu0[i]!),
        temporalCpuS: (await cpuSeconds(temporal.pid!)) - temporalCpu0,
        machineCpuS: (await machineBusySeconds()) - machineCpu0,
        ...phases,
      };
      console.log(line(figures));
      await printFallbacks(hosts);
      return figures;
    } finally {
      await Promise.all(started.map((h) => h.program.stop('SIGTERM')));
      if (!values.keep) await rm(dir, { recursive: true, force: true });
    }
  }

  async function aria2Leechers(count: number): Promise<Figures> {
    const dir = join(root, 'aria2');
    origin.resetCount();
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const out = join(dir, `leecher${i + 1}`);
        await mkdir(out, { recursive: true });
        // Through sh, whose `times` gives the CPU time of its child (aria2c).
        const { code, out: text } = await run('sh', [
          '-c', 'aria2c "$@" >/dev/null; code=$?; times; exit $code', 'sh',
          '--seed-time=0', `--dir=${out}`, `--listen-port=${await freePort()}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
          '--enable-peer-exchange=true', '--check-integrity=true', '--summary-interval=0', '--console-log-level=warn', '--bt-tracker-connect-timeout=5',
          torrent.path,
        ]);
        if (code !== 0) throw new Error(`aria2c ${i + 1} exited with ${code}: ${text}`);
        const times = [...(text.trim().split('\n').at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        return times.length === 2 ? times[0]! + times[1]! : NaN;
      }),
    );
    const figures = { scenario: `aria2c, ${count} leechers (baseline)`, wallS: (Date.now() - started) / 1000, egress: origin.bytesSent / size, cpuS: outcomes };
    console.log(line(figures));
    await rm(dir, { recursive: true, force: true });
    return figures;
  }

  console.log(`bench/fleet: ${size >> 20} MiB image, ${siteCount} sites (one worker process each), origin ${rateMiB > 0 ? `capped at ${rateMiB} MiB/s` : 'uncapped'}; load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  try {
    for (const mode of modes) {
      const url = mode === 'http' ? imageUrl : `${origin.baseUrl}/disk.torrent`;
      const alone = await scenario(mode, url, 1);
      const fleet = await scenario(mode, url, siteCount);
      results.push(alone, fleet);
      console.log(`  ${mode}: ${siteCount} sites took ${(fleet.wallS / alone.wallS).toFixed(2)} × one site alone; origin sent ${fleet.egress.toFixed(2)} × the image`);
    }
    if (!values['no-aria2']) results.push(await aria2Leechers(siteCount));
  } finally {
    await tracker.stop();
    await origin.stop();
    await temporalConnection.close();
    await temporal.stop();
    if (values.keep) {
      const bytes = Number(spawnSync('du', ['-sb', root], { encoding: 'utf8' }).stdout.split('\t')[0]);
      console.log(`kept: ${root} (${(bytes / 1e9).toFixed(1)} GB on disk; delete it when done: rm -rf ${root})`);
    } else {
      await rm(root, { recursive: true, force: true });
    }
  }
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

/** When the last host had the part and when the last one registered it (their logs), from `startMs`. */
async function phaseTimes(hosts: readonly FleetHost[], startMs: number): Promise<{ firstPartReadyS: number; lastPartReadyS: number; lastRegisteredS: number }> {
  let firstPartReadyS = Infinity;
  let lastPartReadyS = 0;
  let lastRegisteredS = 0;
  for (const host of hosts) {
    for (const l of await host.logLines()) {
      const atS = (Number(l.time) - startMs) / 1000;
      if (l.msg === 'part ready') {
        firstPartReadyS = Math.min(firstPartReadyS, atS);
        lastPartReadyS = Math.max(lastPartReadyS, atS);
      }
      if (l.msg === 'registered') lastRegisteredS = Math.max(lastRegisteredS, atS);
    }
  }
  return { firstPartReadyS, lastPartReadyS, lastRegisteredS };
}

/** Why hosts asked the origin (their logs' `falling back to the origin`), so a high egress explains itself. */
async function printFallbacks(hosts: readonly FleetHost[]): Promise<void> {
  const reasons = new Map<string, string[]>();
  for (const host of hosts) {
    for (const l of await host.logLines()) {
      if (l.msg !== 'falling back to the origin') continue;
      const reason = String(l.reason);
      reasons.set(reason, [...(reasons.get(reason) ?? []), host.site]);
    }
  }
  for (const [reason, sites] of reasons) console.log(`    falling back to the origin (${sites.length}×: ${sites.join(' ')}): ${reason}`);
}

function line(f: Figures): string {
  const total = f.cpuS.reduce((a, b) => a + b, 0);
  const command = f.commandS !== undefined ? ` (command ${f.commandS.toFixed(1)} s)` : '';
  const phases = f.lastRegisteredS !== undefined ? `\n  ${''.padEnd(32)} part ready on the first host at ${f.firstPartReadyS!.toFixed(1)} s, on the last at ${f.lastPartReadyS!.toFixed(1)} s, last registered at ${f.lastRegisteredS.toFixed(1)} s` : '';
  const machine = f.machineCpuS !== undefined ? `; Temporal server ${f.temporalCpuS!.toFixed(1)} s, whole machine ${f.machineCpuS.toFixed(1)} s` : '';
  return `  ${f.scenario.padEnd(32)} wall ${f.wallS.toFixed(1).padStart(6)} s${command}  origin ${f.egress.toFixed(2).padStart(5)} × image  CPU per site ${f.cpuS.map((c) => c.toFixed(1)).join(' ')} s (total ${total.toFixed(1)} s)` + machine + phases;
}

await main();
