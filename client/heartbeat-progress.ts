/**
 * Bytes in flight of a registration, from its pending `downloadPart` activities' heartbeat
 * details (`describe()`), merged into what the workflow's `progress` query knows. Progress is
 * read here rather than signalled to the workflow so a run's history does not grow with the
 * time a download takes. Pure, given a decoder for the payloads.
 */
import type { PartType } from '../common/image-types.js';
import type { PartProgress, RegisterProgress } from '../common/register-contract.js';

/** The fields of a pending activity this reads (Temporal's PendingActivityInfo). */
export interface PendingHeartbeatLike {
  activityType?: { name?: string | null } | null;
  heartbeatDetails?: { payloads?: readonly unknown[] | null } | null;
}

/** What `downloadPart` heartbeats (activities/download-part.ts). */
interface DownloadHeartbeat {
  type: PartType;
  bytesDone: number;
  bytesTotal?: number;
}

export function withHeartbeatProgress(
  progress: RegisterProgress,
  pending: readonly PendingHeartbeatLike[] | null | undefined,
  decode: (payload: unknown) => unknown,
): RegisterProgress {
  const beats = new Map<PartType, DownloadHeartbeat>();
  for (const a of pending ?? []) {
    if (a.activityType?.name !== 'downloadPart') continue;
    const first = a.heartbeatDetails?.payloads?.[0];
    if (first === undefined || first === null) continue;
    const beat = downloadHeartbeatOf(decode(first));
    if (beat) beats.set(beat.type, beat);
  }
  const parts = progress.parts.map((part): PartProgress => {
    const beat = beats.get(part.type);
    if (!beat || beat.bytesDone < part.bytesDone) return part;
    return { ...part, bytesDone: beat.bytesDone, ...(beat.bytesTotal !== undefined ? { bytesTotal: beat.bytesTotal } : {}) };
  });
  return { ...progress, parts };
}

function downloadHeartbeatOf(details: unknown): DownloadHeartbeat | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Record<string, unknown>;
  if (typeof d.type !== 'string' || typeof d.bytesDone !== 'number') return undefined;
  return { type: d.type as PartType, bytesDone: d.bytesDone, ...(typeof d.bytesTotal === 'number' ? { bytesTotal: d.bytesTotal } : {}) };
}
