/**
 * web-seed-request.ts: a torrent's web seed fetches its ranges through the outbound policy at the
 * moment it connects, so a name checked when the torrent was added cannot be pointed elsewhere
 * afterwards (DNS rebinding). Against a real HTTP server on loopback; the "rebinding" is the
 * policy's name-resolution seam answering another loopback address the second time.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundPolicy } from '../../../../activities/network/outbound-policy.js';
import { webSeedRequester } from '../../../../activities/transports/bittorrent/web-seed-request.js';

const body = randomBytes(100_000);
const server = createServer((req, res) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
  const [start, end] = [Number(m[1]), Number(m[2])];
  res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
  res.end(body.subarray(start, end + 1));
});
let port = 0;

/** A resolver that answers `answers` in turn, then the last one again. */
function resolver(answers: string[]): { resolve: LookupFunction; asked: () => number } {
  let n = 0;
  const resolve = ((_host: string, _opts: unknown, cb: (err: Error | null, found: { address: string; family: number }[]) => void) => {
    const address = answers[Math.min(n++, answers.length - 1)]!;
    cb(null, [{ address, family: 4 }]);
  }) as unknown as LookupFunction;
  return { resolve, asked: () => n };
}

const range = (start: number, end: number) => ({ start, end, signal: AbortSignal.timeout(10_000), userAgent: 'test' });

async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('web seed requests held to the outbound policy', () => {
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches the range asked for from an allowed address', async () => {
    const policy = createOutboundPolicy({ allowedNetworks: ['127.0.0.1/32'] });
    const res = await webSeedRequester(policy)(`http://127.0.0.1:${port}/image.img`, range(1000, 60_999));
    expect(res.status).toBe(206);
    expect((await read(res.body)).equals(body.subarray(1000, 61_000))).toBe(true);
  });

  it('checks the address it dials, not the one the name had when the torrent was added', async () => {
    // seed.example resolves to an allowed address for the check, then to a refused one.
    const { resolve, asked } = resolver(['127.0.0.1', '127.0.0.2']);
    const policy = createOutboundPolicy({ allowedNetworks: ['127.0.0.1/32'], resolve });
    const url = `http://seed.example:${port}/image.img`;
    await policy.checkResolved(new URL(url)); // what the transport does when the torrent is added
    await expect(webSeedRequester(policy)(url, range(0, 999))).rejects.toThrow(/refused to connect to 127\.0\.0\.2 \(a loopback address\)/);
    expect(asked()).toBe(2);
  });

  it('refuses a URL the policy refuses before any connection', async () => {
    const policy = createOutboundPolicy({ allowedNetworks: ['127.0.0.1/32'], allowedHosts: ['origin.example'] });
    await expect(webSeedRequester(policy)(`http://127.0.0.1:${port}/image.img`, range(0, 999))).rejects.toThrow(/not in http.allowedHosts/);
  });
});
