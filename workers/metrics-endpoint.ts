/**
 * The Prometheus endpoint of a worker process (`--metrics-port`): ImageProxy's own metrics and,
 * appended, the Temporal runtime's worker metrics, which the runtime serves on a loopback port of
 * its own (it cannot share ours). One scrape target per process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from '../activities/metrics/image-proxy-metrics.js';

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

export interface MetricsEndpointOptions {
  port: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** The runtime's own endpoint (`http://127.0.0.1:PORT/metrics`), merged into ours. */
  runtimeUrl?: string;
}

export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('metrics are at /metrics\n');
      return;
    }
    void scrape(options.runtimeUrl).then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on ${options.host ?? '127.0.0.1'}:${options.port}: ${err.message}`)));
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function scrape(runtimeUrl: string | undefined): Promise<string> {
  const ours = await registry.metrics();
  if (!runtimeUrl) return ours;
  // The runtime's metrics are best effort: ours are served even when it does not answer.
  const theirs = await fetch(runtimeUrl, { signal: AbortSignal.timeout(5000) })
    .then((r) => (r.ok ? r.text() : `# Temporal runtime metrics: HTTP ${r.status}\n`))
    .catch((err: unknown) => `# Temporal runtime metrics unavailable: ${(err as Error).message}\n`);
  return `${ours}\n${theirs}`;
}
