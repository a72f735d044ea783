/**
 * What the `downloadPart` activity heartbeats: the transfer's progress (handed back to the next
 * attempt, which resumes from it) and, for `imageproxy status` and the UI, the part's type and
 * recent rate. One reader for the activity and the client. Workflow-safe, pure.
 */
import type { PartType } from './image-types.js';

export interface DownloadHeartbeat {
  bytesDone: number;
  bytesTotal?: number;
  /** The transport's resume state (e.g. an ETag), opaque here. */
  resumeToken?: string;
  type?: PartType;
  bytesPerSecond?: number;
}

/** The heartbeat details as a `DownloadHeartbeat`, or undefined when they have another shape. */
export function downloadHeartbeatOf(details: unknown): DownloadHeartbeat | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Record<string, unknown>;
  if (typeof d.bytesDone !== 'number') return undefined;
  return {
    bytesDone: d.bytesDone,
    ...(typeof d.bytesTotal === 'number' ? { bytesTotal: d.bytesTotal } : {}),
    ...(typeof d.resumeToken === 'string' ? { resumeToken: d.resumeToken } : {}),
    ...(typeof d.type === 'string' ? { type: d.type as PartType } : {}),
    ...(typeof d.bytesPerSecond === 'number' ? { bytesPerSecond: d.bytesPerSecond } : {}),
  };
}
