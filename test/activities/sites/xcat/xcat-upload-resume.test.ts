/**
 * Kill the worker in the middle of an SFTP upload to the management node: the retried activity,
 * on the restarted worker, continues the partial file rather than sending it again. Proof comes
 * from sshd's own log (internal-sftp reports the bytes written per opened file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HttpOrigin } from '../../../support/http-origin.js';
import { newTestDir, startWorld, uniqueName, type World, LOOPBACK_HTTP } from '../../../support/image-proxy-world.js';
import { XcatManagementNode } from '../../../support/xcat-management-node.js';
import { publishNetbootSet } from '../../../support/xcat-sample-images.js';

describe('xcat upload after a worker crash', () => {
  let origin: HttpOrigin;
  let mn: XcatManagementNode;
  let world: World;
  const site = uniqueName('xcat-crash');
  const children: ChildProcess[] = [];
  let dataDir = '';
  let configPath = '';

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    mn = await new XcatManagementNode().start();
    // Slow uploads down so the kill lands mid-file.
    const sites = { [site]: mn.siteConfig({ uploadBytesPerSecond: 256 * 1024 }) };
    world = await startWorld({ sites, startWorkers: false });
    dataDir = await newTestDir('xcat-crash-worker');
    configPath = join(dataDir, 'config.json');
    await writeFile(configPath, JSON.stringify({ sites, http: LOOPBACK_HTTP }));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await world?.stop();
    await mn?.stop();
    await origin?.stop();
  });

  const startWorker = (): ChildProcess => {
    const child = spawn(process.execPath, ['bin/imageproxy.js', 'worker', '--site', site], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        IMAGEPROXY_DATA_DIR: dataDir,
        IMAGEPROXY_CONFIG: configPath,
        IMAGEPROXY_HOST_ID: 'crash-host',
        IMAGEPROXY_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => void appendFile(join(dataDir, 'worker.log'), d));
    children.push(child);
    return child;
  };

  it('resumes the SFTP transfer from the partial file the killed worker left', async () => {
    const image = await publishNetbootSet(origin, { rootSize: 3 << 20 });
    const rootimg = image.parts.find((p) => p.type === 'ZFILESYSTEM')!;
    const partial = join(mn.installRoot, '.imageproxy', 'staging', image.guid, 'rootimg.tar.gz.part');

    const first = startWorker();
    const result = world.client.registerImage({ url: image.url, guid: image.guid, site });
    // Wait until a good part of the root archive is on the far side, then kill the worker outright.
    let partialAtKill = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      partialAtKill = await stat(partial).then((s) => s.size, () => 0);
      if (partialAtKill >= 512 * 1024) break;
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(partialAtKill).toBeGreaterThanOrEqual(512 * 1024);
    expect(partialAtKill).toBeLessThan(rootimg.size);
    const leftBehind = (await stat(partial)).size;

    startWorker(); // same host id: the retried activity comes to it once the heartbeat times out
    const done = await result;
    const dir = join(mn.installRoot, 'netboot', 'rhels8.6', 'x86_64', `imageproxy-${image.guid}`);
    expect(done.ids.FILESYSTEM).toBe(`rhels8.6-x86_64-netboot-imageproxy-${image.guid}`);
    const sha1 = createHash('sha1').update(await readFile(join(dir, 'rootimg.tar.gz'))).digest('hex');
    expect(sha1).toBe(rootimg.sha1);

    // sftp-server: the .part file was opened again without truncation and only the rest was written.
    const sftpLog = await mn.sftpLog();
    const opens = sftpLog.match(/open "[^"]*rootimg\.tar\.gz\.part" flags [A-Z,]+/g) ?? [];
    expect(opens.length).toBe(2);
    expect(opens[0]).toMatch(/TRUNCATE/);
    expect(opens[1]).not.toMatch(/TRUNCATE/);
    const written = [...sftpLog.matchAll(/close "[^"]*rootimg\.tar\.gz\.part" bytes read \d+ written (\d+)/g)].map((m) => Number(m[1]));
    expect(written.at(-1)).toBe(rootimg.size - leftBehind);
  });
});
