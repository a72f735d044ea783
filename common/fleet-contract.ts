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
 * The digests of a part's prefixes, one per piece: entry i is the part's hash (its signature's
 * algorithm) over pieces 0..i, so the last one is the part's own hash. From the first host whose
 * copy matched the part's signature. A later host checks each piece from a peer in the same pass
 * that hashes the part for its signature (a copy of the running hash, finished at the piece's end):
 * one hash pass per byte, not two.
 */
export interface PieceHashes {
  size: number;
  pieceBytes: number;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  prefixDigests: string[];
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
