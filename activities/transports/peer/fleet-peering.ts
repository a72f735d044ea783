/**
 * A worker's side of fleet distribution, built from its `peer` config: the peer endpoint (when it
 * listens), the client that dials peers with the shared token, and the fleet transport around the
 * origin transports, reporting to and asking the distribution through Temporal.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { WorkflowClient } from '@temporalio/client';
import type { Logger } from 'pino';
import { fleetSourceSignal, fleetSourcesQuery } from '../../../common/fleet-contract.js';
import type { PeerConfig } from '../../../config/config-schema.js';
import type { HostCache } from '../../cache/host-cache.js';
import type { Transport } from '../transport.js';
import { createPeerClient } from './peer-client.js';
import { acquirePeerServer } from './peer-server.js';
import { createPeerTransport } from './peer-transport.js';

export interface FleetPeeringOptions {
  peer: PeerConfig | undefined;
  configDir: string;
  origin: readonly Transport[];
  cache: Pick<HostCache, 'nameOf' | 'lookup'>;
  temporal: WorkflowClient;
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

export async function startFleetPeering(o: FleetPeeringOptions): Promise<FleetPeering> {
  const { peer, logger } = o;
  const token = peer ? await readToken(resolve(o.configDir, peer.tokenFile)) : undefined;
  const endpoint = peer?.listen && token ? await acquirePeerServer({ listen: peer.listen, token, cache: o.cache, logger }) : undefined;
  // Port 0 in `listen` is only useful with the bound port: advertise what was bound.
  const advertise = endpoint ? (peer?.advertise ?? endpoint.server.address) : undefined;
  const client = peer && token ? createPeerClient({ token, connectTimeoutMs: peer.connectTimeoutMs }) : undefined;
  if (!peer) logger.info('no peer section in the config: parts come from the origin only');
  const transport = createPeerTransport({
    origin: o.origin,
    coordinator: {
      report: (fleet, report) => o.temporal.getHandle(fleet.workflowId, fleet.runId).signal(fleetSourceSignal, report),
      sources: (fleet, part) => o.temporal.getHandle(fleet.workflowId, fleet.runId).query(fleetSourcesQuery, part),
    },
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
