/**
 * A retried download of a part from peers resumes: a real peer endpoint on loopback (another
 * host of the distribution) serves the part over the peer wire, the fleet's peer transport fetches
 * it with a real HTTP origin behind as the fallback, and an attempt is aborted mid-way as a killed
 * worker or a timed-out activity would leave it. The second attempt gets the first one's last
 * progress (as `downloadPart` hands over its last heartbeat) and the partial file.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../../client/demo/sample-image.js';
import { PIECE_BYTES, type PartSources, type PieceHashes } from '../../../../common/fleet-contract.js';
import { createHttpTransport } from '../../../../activities/transports/http-transport.js';
import { createPeerClient, type FetchRange } from '../../../../activities/transports/peer/peer-client.js';
import { startPeerServer, type PeerServer } from '../../../../activities/transports/peer/peer-server.js';
import { createPeerTransport } from '../../../../activities/transports/peer/peer-transport.js';
import { prefixDigestsOfFile } from '../../../../activities/transports/peer/prefix-digests.js';
import type { FetchRequest, FetchResult, TransferProgress } from '../../../../activities/transports/transport.js';
import { HttpSchema } from '../../../../config/config-schema.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { freePort } from '../../../support/bittorrent-peers.js';
import { LOOPBACK_HTTP, newTestDir } from '../../../support/image-proxy-world.js';
import { pino } from 'pino';

const TOKEN = 'resume-test-token';
const SIZE = 12 * PIECE_BYTES + 54_321;
const data = pseudoRandomBytes(SIZE, 23);
const hex = createHash('sha1').update(data).digest('hex');
const sha1Of = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

describe('a fetch from peers resumes on the next attempt', () => {
  let dir: string;
  let server: PeerServer;
  let origin: HttpOrigin;
  let url: string;
  let pieces: PieceHashes;
  let client: ReturnType<typeof createPeerClient>;
  let deadPeer: string;
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  /** Bytes the peer endpoint sent (what arrived over the wire from it). */
  let fromPeers = 0;
  const counted: FetchRange = async (...args) => {
    const answer = await client.fetchRange(...args);
    if (answer.kind === 'bytes') fromPeers += answer.data.length;
    return answer;
  };
  let n = 0;

  beforeAll(async () => {
    dir = await newTestDir('peer-resume');
    await writeFile(join(dir, 'held'), data);
    pieces = await prefixDigestsOfFile(join(dir, 'held'), SIZE, 'sha1');
    server = await startPeerServer({
      listen: '127.0.0.1:0',
      token: TOKEN,
      logger,
      cache: { nameOf: (h) => h.hex, lookup: async (h) => (h.hex === hex ? { path: join(dir, 'held'), size: SIZE } : undefined) },
    });
    origin = await new HttpOrigin().start();
    url = origin.addBuffer('/part', data);
    client = createPeerClient({ token: TOKEN, connectTimeoutMs: 5_000 });
    deadPeer = `127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await origin?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    logs.length = 0;
  });

  /** The peer transport of a host whose distribution names `peers` and, when `withDigests`, the trusted piece digests. */
  const transportWith = (peers: string[], withDigests: boolean, fetchRange: FetchRange = counted) =>
    createPeerTransport({
      origin: [createHttpTransport({ config: HttpSchema.parse(LOOPBACK_HTTP) })],
      coordinator: { report: async () => undefined, sources: async (): Promise<PartSources> => ({ peers, ...(withDigests ? { pieces } : {}) }) },
      fetchRange,
      hostQueue: 'resume-host',
      stallTimeoutMs: 10_000,
      nameOf: (h) => h.hex,
      logger,
    });

  const newRequest = (): FetchRequest => {
    const destPath = join(dir, `dest-${++n}`);
    return {
      url,
      destPath,
      hashAlgorithm: 'sha1',
      resume: { statePath: `${destPath}.resume` },
      fleet: { workflowId: 'resume-distribution', runId: 'run' },
      expected: { algorithm: 'sha1', hex },
    };
  };

  /**
   * An attempt aborted once `stopAt` bytes are written in order; answers its last progress (the
   * last heartbeat). Pieces from `stopAt` on are held until the abort, so the attempt cannot finish
   * first, however fast the loopback is next to the writes.
   */
  async function abortedAttempt(request: FetchRequest, stopAt: number, withDigests: boolean): Promise<TransferProgress> {
    const abort = new AbortController();
    let last: TransferProgress | undefined;
    const heldFromStopAt: FetchRange = (peer, name, start, end, signal) =>
      start < stopAt
        ? counted(peer, name, start, end, signal)
        : new Promise((resolve) => abort.signal.addEventListener('abort', () => resolve({ kind: 'failed', reason: 'aborted' }), { once: true }));
    const attempt = transportWith([server.address], withDigests, heldFromStopAt).fetchToFile({
      ...request,
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
        if (p.bytesDone >= stopAt) abort.abort(new Error('worker killed'));
      },
    });
    await expect(attempt).rejects.toThrow('worker killed');
    expect(last!.bytesDone).toBeGreaterThanOrEqual(stopAt);
    expect(last!.bytesDone).toBeLessThan(SIZE);
    return last!;
  }

  /** The next attempt, resuming from `last`; answers its result and the bytes the peer endpoint and the origin sent for it. */
  async function nextAttempt(request: FetchRequest, last: TransferProgress, peers: string[], withDigests: boolean) {
    const [peersBefore, originBefore] = [fromPeers, origin.bytesSentOf('/part')];
    const got: FetchResult = await transportWith(peers, withDigests).fetchToFile({ ...request, resume: { ...request.resume!, lastProgress: last } });
    const file = await readFile(request.destPath);
    return { got, file, sentByPeers: fromPeers - peersBefore, sentByOrigin: origin.bytesSentOf('/part') - originBefore };
  }

  async function tamper(path: string, at: number): Promise<void> {
    const bytes = await readFile(path);
    for (let i = 0; i < 64; i++) bytes[at + i] = bytes[at + i]! ^ 0x5a;
    await writeFile(path, bytes);
  }

  it('the second attempt fetches from peers only the pieces the first did not write', async () => {
    const request = newRequest();
    const last = await abortedAttempt(request, 4 * PIECE_BYTES, true);
    const { got, file, sentByPeers, sentByOrigin } = await nextAttempt(request, last, [server.address], true);
    expect(got).toMatchObject({ bytes: SIZE, hashHex: hex, via: { source: 'peer' } });
    expect(sha1Of(file)).toBe(hex);
    expect(got.bytesResumed).toBe(Math.floor(last.bytesDone / PIECE_BYTES) * PIECE_BYTES);
    expect(got.bytesResumed).toBeGreaterThanOrEqual(4 * PIECE_BYTES);
    expect(sentByPeers).toBe(SIZE - got.bytesResumed!);
    expect(sentByOrigin).toBe(0);
    expect(logs.some((l) => l.msg === 'resuming from the pieces kept by an earlier attempt')).toBe(true);
  });

  it('a kept piece tampered with on disk is found by the trusted digests: the pieces before it are kept, the rest fetched again', async () => {
    const request = newRequest();
    const last = await abortedAttempt(request, 5 * PIECE_BYTES, true);
    await tamper(request.destPath, 2 * PIECE_BYTES + 1000);
    const { got, file, sentByPeers, sentByOrigin } = await nextAttempt(request, last, [server.address], true);
    expect(got).toMatchObject({ bytes: SIZE, hashHex: hex, bytesResumed: 2 * PIECE_BYTES });
    expect(sha1Of(file)).toBe(hex);
    expect(sentByPeers).toBe(SIZE - 2 * PIECE_BYTES);
    expect(sentByOrigin).toBe(0);
    expect(logs.find((l) => /do not match their hashes/.test(String(l.msg)))).toMatchObject({ piece: 2 });
  });

  it('without digests a tampered kept piece makes the part hash wrong: the kept pieces are fetched again, never a wrong file', async () => {
    const request = newRequest();
    const last = await abortedAttempt(request, 5 * PIECE_BYTES, false);
    await tamper(request.destPath, 3 * PIECE_BYTES + 5);
    const { got, file, sentByPeers, sentByOrigin } = await nextAttempt(request, last, [server.address], false);
    expect(got).toMatchObject({ bytes: SIZE, hashHex: hex, via: { source: 'peer' } });
    expect(got.bytesResumed).toBeUndefined();
    expect(sha1Of(file)).toBe(hex);
    // Everything after the kept pieces, then the kept pieces again.
    expect(sentByPeers).toBe(SIZE);
    expect(sentByOrigin).toBe(0);
    expect(logs.some((l) => l.msg === 'kept pieces from an earlier attempt fetched again')).toBe(true);
  });

  it('falling back to the origin, a file the peers wrote is resumed by HTTP only up to its checked pieces', async () => {
    // An earlier attempt from the origin left its validator; then peers wrote the file, one piece got damaged.
    const request = newRequest();
    await writeFile(request.resume!.statePath, JSON.stringify({ url, validator: `"${hex}"` }));
    const last = await abortedAttempt(request, 5 * PIECE_BYTES, true);
    await tamper(request.destPath, 3 * PIECE_BYTES + 5);
    // Now no peer can be dialed: the origin takes over.
    const { got, file, sentByPeers, sentByOrigin } = await nextAttempt(request, last, [deadPeer], true);
    expect(got).toMatchObject({ bytes: SIZE, hashHex: hex, bytesResumed: 3 * PIECE_BYTES, via: { source: 'origin' } });
    expect(sha1Of(file)).toBe(hex);
    expect(sentByPeers).toBe(0);
    expect(sentByOrigin).toBe(SIZE - 3 * PIECE_BYTES);
  });

  it('going to the origin without digests (no peer named this time), nothing the peers wrote is resumed', async () => {
    const request = newRequest();
    await writeFile(request.resume!.statePath, JSON.stringify({ url, validator: `"${hex}"` }));
    const last = await abortedAttempt(request, 5 * PIECE_BYTES, false);
    await tamper(request.destPath, 1 * PIECE_BYTES + 5);
    // The worker died before its heartbeat told of the peers: the last one still carries the origin's validator.
    const stale = { ...last, resumeToken: JSON.stringify({ url, validator: `"${hex}"` }) };
    const { got, file, sentByOrigin } = await nextAttempt(request, stale, [], false);
    expect(got).toMatchObject({ bytes: SIZE, hashHex: hex, via: { source: 'origin' } });
    expect(got.bytesResumed).toBeUndefined();
    expect(sha1Of(file)).toBe(hex);
    expect(sentByOrigin).toBe(SIZE);
  });
});
