/**
 * The fleet's peer transport for the Transport conformance suite: a real peer endpoint on
 * loopback (another host of the distribution) holds the verified contents, and the transport takes
 * them from it over the peer wire, with the origin (a real HTTP origin) as its fallback only. The
 * suite's requests are made part of a distribution here (a fleet reference and the expected hash),
 * as `downloadPart` makes them; outside one the transport is its origin transport. The bytes
 * served it counts are those the peer endpoint sent (a resumed fetch asks it only for the rest).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHttpTransport } from '../../../../activities/transports/http-transport.js';
import { createPeerClient, type FetchRange } from '../../../../activities/transports/peer/peer-client.js';
import { startPeerServer } from '../../../../activities/transports/peer/peer-server.js';
import { createPeerTransport } from '../../../../activities/transports/peer/peer-transport.js';
import type { ContentHash } from '../../../../common/image-types.js';
import { HttpSchema } from '../../../../config/config-schema.js';
import { createLogger } from '../../../../workers/logger.js';
import { HttpOrigin } from '../../../support/http-origin.js';
import { LOOPBACK_HTTP } from '../../../support/image-proxy-world.js';
import type { TransportHarnessFactory } from '../transport-conformance.js';

const TOKEN = 'conformance-peer-token';

const harness: TransportHarnessFactory = {
  name: 'peer',
  async start(dir, contents) {
    const logger = createLogger('warn');
    const held = new Map<string, { path: string; size: number }>();
    const hexes = await Promise.all(
      contents.map(async (c, i) => {
        const hex = createHash('sha1').update(c.data).digest('hex');
        const path = join(dir, `held-${i}`);
        await writeFile(path, c.data);
        held.set(hex, { path, size: c.data.length });
        return hex;
      }),
    );
    // The other host: its cache knows the contents by their hash (a SHA-1's cache name is its hex).
    const nameOf = (hash: ContentHash): string => hash.hex;
    const server = await startPeerServer({ listen: '127.0.0.1:0', token: TOKEN, logger, cache: { nameOf, lookup: async (hash) => held.get(hash.hex) } });
    const origin = await new HttpOrigin().start();
    const urls = contents.map((c, i) => origin.addBuffer(`/conformance-${i}`, c.data));
    const client = createPeerClient({ token: TOKEN, connectTimeoutMs: 5_000 });
    const sent = new Map<string, number>();
    const fetchRange: FetchRange = async (...args) => {
      const answer = await client.fetchRange(...args);
      if (answer.kind === 'bytes') sent.set(args[1], (sent.get(args[1]) ?? 0) + answer.data.length);
      return answer;
    };
    const peer = createPeerTransport({
      origin: [createHttpTransport({ config: HttpSchema.parse(LOOPBACK_HTTP) })],
      coordinator: { report: async () => undefined, sources: async () => ({ peers: [server.address] }) },
      fetchRange,
      hostQueue: 'conformance-host',
      stallTimeoutMs: 10_000,
      nameOf,
      logger,
    });
    return {
      transport: {
        name: peer.name,
        handles: (url) => peer.handles(url),
        fetchToFile: (request) =>
          peer.fetchToFile({
            ...request,
            fleet: { workflowId: 'conformance-distribution', runId: 'run' },
            expected: { algorithm: 'sha1', hex: hexes[urls.indexOf(request.url)]! },
          }),
      },
      urls,
      bytesServed: (i) => sent.get(hexes[i]!) ?? 0,
      dispose: async () => {
        client.close();
        await server.close();
        const fromOrigin = contents.reduce((sum, _, i) => sum + origin.bytesSentOf(`/conformance-${i}`), 0);
        await origin.stop();
        // Every byte came over the peer wire: the origin is only the fallback.
        if (fromOrigin > 0) throw new Error(`the origin sent ${fromOrigin} bytes: the peer transport fell back`);
      },
    };
  },
};
export default harness;
