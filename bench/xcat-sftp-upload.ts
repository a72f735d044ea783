/**
 * Upload speed to an xCAT management node: ImageProxy's resumable, verified SFTP upload (ssh2,
 * then `sha1sum` on the far side) against OpenSSH's own `sftp` client doing the same (put, then
 * `ssh … sha1sum`), side by side against one local sshd, same file, same run.
 *   node --import tsx bench/xcat-sftp-upload.ts [MiB=256] [rounds=3]
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pseudoRandomBytes } from '../client/demo/sample-image.js';
import { parseHostKeyPin } from '../activities/sites/xcat/host-key-pin.js';
import { uploadVerified } from '../activities/sites/xcat/sftp-upload.js';
import { SshSession } from '../activities/sites/xcat/ssh-session.js';
import { XcatManagementNode } from '../test/support/xcat-management-node.js';

const run = promisify(execFile);
const mib = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const mn = await new XcatManagementNode().start();
try {
  const file = join(mn.dir, 'image.bin');
  const chunk = pseudoRandomBytes(1 << 20, 7);
  await writeFile(file, '');
  for (let i = 0; i < mib; i++) await writeFile(file, chunk, { flag: 'a' });
  const hash = createHash('sha1');
  for await (const c of createReadStream(file)) hash.update(c as Buffer);
  const hex = hash.digest('hex');
  const size = mib << 20;
  const target = join(mn.installRoot, 'upload.bin');
  const sshArgs = ['-i', mn.clientKeyPath, '-o', `UserKnownHostsFile=${join(mn.dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-P', String(mn.port)];
  await writeFile(join(mn.dir, 'known_hosts'), `${mn.knownHostsLine}\n`);

  const ours: number[] = [];
  const oursSmall: number[] = [];
  const openssh: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await rm(target, { force: true });
    let t = performance.now();
    const session = await SshSession.open({
      host: '127.0.0.1', port: mn.port, username: mn.user, privateKey: await readFile(mn.clientKeyPath),
      hostKey: parseHostKeyPin(mn.fingerprint), sudo: false, readyTimeoutMs: 10_000,
    });
    await uploadVerified({ session, sftp: await session.sftp(), localPath: file, size, hash: { algorithm: 'sha1', hex }, remotePath: target, chunkBytes: 4 << 20 });
    ours.push((performance.now() - t) / 1000);

    await rm(target, { force: true });
    t = performance.now();
    await uploadVerified({ session, sftp: await session.sftp(), localPath: file, size, hash: { algorithm: 'sha1', hex }, remotePath: target });
    oursSmall.push((performance.now() - t) / 1000);
    session.close();

    await rm(target, { force: true });
    t = performance.now();
    await writeFile(join(mn.dir, 'batch'), `put "${file}" "${target}"\n`);
    await run('sftp', ['-q', ...sshArgs, '-b', join(mn.dir, 'batch'), `${mn.user}@127.0.0.1`]);
    const sshPort = sshArgs.map((a) => (a === '-P' ? '-p' : a));
    const { stdout } = await run('ssh', [...sshPort, `${mn.user}@127.0.0.1`, 'sha1sum', '--', target]);
    if (!stdout.startsWith(hex)) throw new Error('baseline upload differs');
    openssh.push((performance.now() - t) / 1000);
  }
  const a = median(ours);
  const d = median(oursSmall);
  const b = median(openssh);
  console.log(`file: ${mib} MiB, rounds: ${rounds}, loopback sshd (OpenSSH ${(await run('ssh', ['-V'])).stderr.trim()})`);
  console.log(`imageproxy, 4 MiB chunks:                          median ${a.toFixed(2)} s (${(mib / a).toFixed(0)} MiB/s)`);
  console.log(`imageproxy ssh2 SFTP upload + remote sha1sum (256 KiB chunks, default): median ${d.toFixed(2)} s (${(mib / d).toFixed(0)} MiB/s)`);
  console.log(`OpenSSH sftp put + ssh sha1sum (baseline):                  median ${b.toFixed(2)} s (${(mib / b).toFixed(0)} MiB/s)`);
  console.log(`ratio imageproxy(default)/baseline: ${(d / b).toFixed(2)}, 4 MiB chunks/baseline: ${(a / b).toFixed(2)}; peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  await mn.stop();
}
