/**
 * The command line in process (`runCli` with buffers), against a real Temporal dev server,
 * in-process workers and a real HTTP origin: answers, --json shapes and exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RegisterJson } from '../../../client/cli/commands/register.js';
import type { ImageStatus } from '../../../client/image-proxy-client.js';
import { registerWorkflowId } from '../../../common/naming.js';
import { freePort } from '../../../workers/temporal-cli.js';
import { runCliInProcess } from '../../support/buffer-io.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { startWorld, uniqueName, type World } from '../../support/image-proxy-world.js';
import { publishSampleImage } from '../../support/sample-images.js';

describe('imageproxy commands in process', () => {
  let origin: HttpOrigin;
  let world: World;
  const site = uniqueName('local');
  const other = uniqueName('local');
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    world = await startWorld({ sites: { [site]: { type: 'local' }, [other]: { type: 'local' } }, startWorkers: false });
    await world.startWorker(site);
    env = { TEMPORAL_ADDRESS: world.address, IMAGEPROXY_DATA_DIR: world.dataDir };
  });
  afterAll(async () => {
    await world?.stop();
    await origin?.stop();
  });

  it('--help lists every command and exits 0; an unknown option is a usage error (64)', async () => {
    const help = await runCliInProcess(['--help'], env);
    expect(help.code).toBe(0);
    for (const command of ['dev', 'serve', 'worker', 'register', 'deregister', 'provision', 'status', 'list', 'gc', 'demo']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    const bad = await runCliInProcess(['status', '--no-such-option'], env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/unknown option '--no-such-option'/);
  });

  it('register --site nosuch exits 64 naming the configured sites, and starts no workflow', async () => {
    const image = await publishSampleImage(origin);
    const run = await runCliInProcess(['register', '--url', image.url, '--guid', image.guid, '--site', 'nosuch', '--json'], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('no site "nosuch" in the config');
    expect(run.stderr).toContain(`configured sites: ${site}, ${other}`);
    expect(JSON.parse(run.stdout)).toEqual({ error: { message: expect.stringContaining(site) as string, exitCode: 64 } });
    await expect(world.client.temporal.workflow.getHandle(registerWorkflowId('nosuch', image.guid)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('checks the site before connecting: with no Temporal reachable it still answers 64 at once', async () => {
    const closedPort = await freePort();
    const run = await runCliInProcess(['register', '--url', 'http://127.0.0.1:1/x.xml', '--guid', 'a'.repeat(40), '--site', 'nosuch'], {
      ...env,
      TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}`,
    });
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/configured sites/);
  });

  it('register --json answers the ids; status --json shows the completed run; an unknown GUID exits 1', async () => {
    const image = await publishSampleImage(origin);
    const reg = await runCliInProcess(['register', '--url', image.url, '--guid', image.guid, '--site', site, '--json'], env);
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    const answer = JSON.parse(reg.stdout) as RegisterJson;
    expect(answer).toMatchObject({ guid: image.guid, site, alreadyRegistered: false });
    expect(Object.keys(answer.ids).sort()).toEqual(['FILESYSTEM', 'KERNEL', 'RAMDISK']);
    // Where the host took each part from: a new image on a lone host comes from the origin.
    const { from, ...withoutFrom } = answer;
    expect(from).toEqual({ FILESYSTEM: 'origin', KERNEL: 'origin', RAMDISK: 'origin' });

    const again = await runCliInProcess(['register', '--url', image.url, '--guid', image.guid, '--site', site, '--json'], env);
    expect(JSON.parse(again.stdout)).toEqual({ ...withoutFrom, alreadyRegistered: true });

    const status = await runCliInProcess(['status', image.guid, '--site', site, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ guid: image.guid, site, status: 'COMPLETED', ids: answer.ids });
    const human = await runCliInProcess(['status', image.guid, '--site', site], env);
    expect(human.stdout).toContain(`${image.guid} at ${site}: COMPLETED (done)`);

    const unknown = await runCliInProcess(['status', 'b'.repeat(40), '--site', site, '--json'], env);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toEqual({ guid: 'b'.repeat(40), site, status: 'UNKNOWN' });
  });

  it('a malformed GUID is a usage error (64) with the reason', async () => {
    const run = await runCliInProcess(['status', 'not-a-guid', '--site', site], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/GUID must be the 40-hex-digit SHA-1/);
  });

  it('status shows live progress per part (bytes, rate, ETA) from the download heartbeats', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 6 << 20, KERNEL: 64 << 10, RAMDISK: 64 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 512 << 10 });
    const handle = await world.client.start({ url: image.url, guid: image.guid, site });
    try {
      let seen: ImageStatus | undefined;
      await expect
        .poll(
          async () => {
            const run = await runCliInProcess(['status', image.guid, '--site', site, '--json'], env);
            seen = JSON.parse(run.stdout) as ImageStatus;
            const part = seen.progress?.parts.find((p) => p.type === 'FILESYSTEM');
            return part !== undefined && part.bytesDone > 0 && (part.bytesPerSecond ?? 0) > 0 && part.etaSeconds !== undefined;
          },
          { timeout: 30_000, interval: 500 },
        )
        .toBe(true);
      const part = seen!.progress!.parts.find((p) => p.type === 'FILESYSTEM')!;
      expect(part.bytesTotal).toBe(6 << 20);
      expect(part.bytesDone).toBeLessThan(6 << 20);
      const human = await runCliInProcess(['status', image.guid, '--site', site], env);
      expect(human.stdout).toMatch(/FILESYSTEM [\d.]+ (KiB|MiB) of 6\.0 MiB \(\d+%\) at [\d.]+ (B|KiB|MiB)\/s, ETA \d/);
    } finally {
      await handle.result().catch(() => undefined);
    }
  });

  it('register of many sites (here --prefetch, which always distributes) shows on stderr how the sites stand while it runs, then each site as it ends', async () => {
    const image = await publishSampleImage(origin, { sizes: { FILESYSTEM: 4 << 20, KERNEL: 64 << 10, RAMDISK: 64 << 10 } });
    const fs = image.parts.find((p) => p.type === 'FILESYSTEM')!;
    origin.injectFaults(fs.urlPath, { kind: 'slow', bytesPerSecond: 512 << 10 }); // ~8 s: several looks
    const run = await runCliInProcess(['register', '--prefetch', '--url', image.url, '--guid', image.guid, '--site', site], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^0 of 1 sites done; 1 downloading [\d.]+ (B|KiB|MiB) of 4\.1 MiB( at [\d.]+ (B|KiB|MiB)\/s)?$/m);
    expect(run.stderr).toContain(`  ${site}: done (FILESYSTEM from the origin, KERNEL from the origin, RAMDISK from the origin)\n`);
    expect(run.stdout).toContain(`${image.guid} (prefetch): 1 of 1 sites ok`);
  });

  it('serve --json prints where the front listens as one JSON object, and the front answers there', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    let urls: { soap: string; json: string } | undefined;
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    const running = runCliInProcess(['serve', '--http-port', '0', '--json'], env, {
      stop: stopped,
      onOut: (out) => {
        urls = JSON.parse(out) as { soap: string; json: string };
        ready();
      },
    });
    await Promise.race([listening, running]);
    try {
      expect(Object.keys(urls ?? {}).sort()).toEqual(['json', 'soap']);
      const wsdl = await fetch(urls!.soap);
      expect(wsdl.status).toBe(200);
      expect(await wsdl.text()).toContain('wsdl:definitions');
    } finally {
      stop();
    }
    expect((await running).code).toBe(0);
  });
});
