/**
 * A worker's side of fleet distribution, built from its `peer` config: the peer endpoint (when it
 * listens), the client that dials peers with the shared token, and the fleet transport around the
 * origin transports, reporting to and asking the distribution through the `coordinator` it is given.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { PeerConfig } from '../../../config/config-schema.js';
import type { HostCache } from '../../cache/host-cache.js';
import type { Transport } from '../transport.js';
import { createPeerClient } from './peer-client.js';
import { acquirePeerServer } from './peer-server.js';
import { createPeerTransport, type FleetCoordinator } from './peer-transport.js';

export interface FleetPeeringOptions {
  peer: PeerConfig | undefined;
  configDir: string;
  origin: readonly Transport[];
  cache: Pick<HostCache, 'nameOf' | 'lookup'>;
  /** Reports to and asks the distribution run (workers/fleet-coordinator.ts: through Temporal). */
  coordinator: FleetCoordinator;
  hostQueue: string;
  logger: Logger;
}

export interface FleetPeering {
  transport: Transport;
  /** Address other hosts reach this one at, when it serves peers. */
  advertise?: string;
  close(): Promise<void>;
}

const DEFAULT_STALL_MS = 30_000;
const DEFAULT_CONNECT_MS = 5000;
/** Without a `peer` section, the deployment's token is looked for here (beside the config file). */
export const DEFAULT_TOKEN_FILE = 'peer-token';

export async function startFleetPeering(o: FleetPeeringOptions): Promise<FleetPeering> {
  const { peer, logger } = o;
  let token: string | undefined;
  if (peer) token = await readToken(resolve(o.configDir, peer.tokenFile));
  else {
    // No section: this host serves nobody, and dials peers only if it holds the deployment's token.
    const path = resolve(o.configDir, DEFAULT_TOKEN_FILE);
    token = existsSync(path) ? await readToken(path) : undefined;
    if (token) logger.info({ tokenFile: path }, 'no peer section in the config: parts come from peers (with the token found) and the origin; this host serves none');
    else logger.info({ tokenFile: path }, 'no peer section in the config and no token file: parts come from the origin only');
  }
  const endpoint = peer?.listen && token ? await acquirePeerServer({ listen: peer.listen, token, cache: o.cache, logger }) : undefined;
  // Port 0 in `listen` is only useful with the bound port: advertise what was bound.
  const advertise = endpoint ? (peer?.advertise ?? endpoint.server.address) : undefined;
  const client = token ? createPeerClient({ token, connectTimeoutMs: peer?.connectTimeoutMs ?? DEFAULT_CONNECT_MS }) : undefined;
  const transport = createPeerTransport({
    origin: o.origin,
    coordinator: o.coordinator,
    ...(client ? { fetchRange: client.fetchRange } : {}),
    ...(advertise ? { advertise } : {}),
    hostQueue: o.hostQueue,
    stallTimeoutMs: peer?.stallTimeoutMs ?? DEFAULT_STALL_MS,
    nameOf: (hash) => o.cache.nameOf(hash),
    logger: logger.child({ transport: 'peer' }),
  });
  return {
    transport,
    ...(advertise ? { advertise } : {}),
    async close() {
      client?.close();
      await endpoint?.release();
    },
  };
}

async function readToken(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new Error(`peer.tokenFile ${path}: ${(err as Error).message}`);
  });
  const token = text.split('\n')[0]!.trim();
  if (token.length < 16) throw new Error(`peer.tokenFile ${path}: the token must be at least 16 characters`);
  return token;
}
