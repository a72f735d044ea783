/**
 * How the hosts of one distribution find each other (docs/fleet.md). The `distributeImage` run is
 * the coordinator: a host that fetches a part reports itself as a source (signal), a host about to
 * fetch asks for the sources of the part (query, no history). Workflow-safe.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** The distribution run a download belongs to (its cache holds are owned by this run). */
export interface FleetRef {
  workflowId: string;
  runId: string;
}

/** Bytes per piece: the unit a peer is asked for and verified by. */
export const PIECE_BYTES = 1 << 20;

/**
 * SHA-256 of every piece of a part, from the first host whose copy matched the part's signature
 * in the metadata. They let later hosts check each piece from a peer as it arrives.
 */
export interface PieceHashes {
  size: number;
  pieceBytes: number;
  sha256: string[];
}

export interface SourceReport {
  /** The part, by its cache name (its content hash). */
  part: string;
  /** HOST:PORT of the reporting host's peer endpoint; absent when it serves none. */
  peer?: string;
  /** The reporting host's task queue (the distribution releases its cache holds there). */
  hostQueue: string;
  /** Present once the host's copy is verified. */
  pieces?: PieceHashes;
}

/** What a host is told about a part: whom to ask, and the piece hashes once known. */
export interface PartSources {
  peers: string[];
  pieces?: PieceHashes;
}

export const fleetSourceSignal = defineSignal<[SourceReport]>('fleetSource');
export const fleetSourcesQuery = defineQuery<PartSources, [string]>('fleetSources');
