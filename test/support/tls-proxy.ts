/**
 * A TLS front for a Temporal dev server, as a real cluster has one: Debian's nginx terminating TLS
 * and proxying gRPC, with test certificates made by openssl. Two listeners: one demands a client
 * certificate of the test CA (mTLS), one demands `authorization: Bearer <apiKey>` (API key).
 */
import { spawn, execFile as execFileCb, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../workers/temporal-cli.js';

const execFile = promisify(execFileCb);

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed neither the server nor the client. */
  otherCaCert: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await execFile('openssl', args, { cwd: dir });
}

/** A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a stranger CA. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const ca = async (name: string): Promise<void> =>
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
  await ca('test-ca');
  await ca('other-ca');
  const leaf = async (name: string, ext: string): Promise<void> => {
    await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    await writeFile(join(dir, `${name}.ext`), ext);
    await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'test-ca.crt', '-CAkey', 'test-ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  };
  await leaf('localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await leaf('imageproxy-worker', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: join(dir, 'test-ca.crt'),
    serverCert: join(dir, 'localhost.crt'),
    serverKey: join(dir, 'localhost.key'),
    clientCert: join(dir, 'imageproxy-worker.crt'),
    clientKey: join(dir, 'imageproxy-worker.key'),
    otherCaCert: join(dir, 'other-ca.crt'),
  };
}

export interface TlsProxy {
  /** host:port of the listener that demands a client certificate. */
  mtlsAddress: string;
  /** host:port of the listener that demands the API key. */
  apiKeyAddress: string;
  stop(): Promise<void>;
}

export async function startTlsProxy(opts: { pki: TestPki; upstream: string; apiKey: string }): Promise<TlsProxy> {
  const { pki } = opts;
  const [mtlsPort, apiKeyPort] = [await freePort(), await freePort()];
  const prefix = join(pki.dir, 'nginx');
  await mkdir(join(prefix, 'tmp'), { recursive: true });
  const tls = `ssl_certificate ${pki.serverCert}; ssl_certificate_key ${pki.serverKey};`;
  // Long polls last up to a minute: the proxy must not cut them.
  const grpc = `grpc_pass grpc://${opts.upstream}; grpc_read_timeout 300s; grpc_send_timeout 300s;`;
  const conf = `
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body; proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi; uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:${mtlsPort} ssl http2;
    ${tls}
    ssl_client_certificate ${pki.caCert};
    ssl_verify_client on;
    location / { ${grpc} }
  }
  server {
    listen 127.0.0.1:${apiKeyPort} ssl http2;
    ${tls}
    location / {
      if ($http_authorization != "Bearer ${opts.apiKey}") { return 403; }
      ${grpc}
    }
  }
}
`;
  const confFile = join(prefix, 'nginx.conf');
  await writeFile(confFile, conf);
  const nginx = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx'; // sbin is not on every PATH
  const child: ChildProcess = spawn(nginx, ['-p', prefix, '-c', confFile, '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  await waitForPort(mtlsPort, child, () => stderr);
  return {
    mtlsAddress: `127.0.0.1:${mtlsPort}`,
    apiKeyAddress: `127.0.0.1:${apiKeyPort}`,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGQUIT');
      await gone;
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx did not listen on ${port}: ${stderr()}`);
}
