/**
 * Progress of a running registration as `status` shows it: the parts the workflow knows, with the
 * bytes, rate and ETA that their download activities last heartbeated. Heartbeats are read from
 * the run's description (pending activities), so progress costs no history events. Pure.
 */
import type { PartProgress, RegisterProgress } from '../common/register-contract.js';
import { downloadHeartbeatOf } from '../common/download-heartbeat.js';

export interface LivePartProgress extends PartProgress {
  /** Recent transfer rate, when the activity heartbeated one. */
  bytesPerSecond?: number;
  /** Seconds left at that rate, when the total is known. */
  etaSeconds?: number;
  /** Attempt of the download activity (> 1 after a retry). */
  attempt?: number;
}

export interface LiveProgress extends Omit<RegisterProgress, 'parts'> {
  parts: LivePartProgress[];
}

/** A pending activity of the run, its heartbeat details decoded. */
export interface PendingActivity {
  activityType: string;
  attempt: number;
  /** The first heartbeat detail, as the activity sent it. */
  details: unknown;
}

/**
 * The workflow's parts with the live figures of their pending downloads. A part whose download is
 * no longer pending keeps what the workflow says; a heartbeat without a part type is matched to
 * the parts in order.
 */
export function withHeartbeats(progress: RegisterProgress, pending: readonly PendingActivity[]): LiveProgress {
  const beats = pending.filter((a) => a.activityType === 'downloadPart').map((a) => ({ beat: downloadHeartbeatOf(a.details), attempt: a.attempt }));
  const untyped = beats.filter((b) => b.beat && b.beat.type === undefined);
  const parts = progress.parts.map((part, i): LivePartProgress => {
    const found = beats.find((b) => b.beat?.type === part.type) ?? untyped[i];
    if (!found?.beat) return part;
    const { beat } = found;
    const bytesTotal = beat.bytesTotal ?? part.bytesTotal;
    const live: LivePartProgress = { ...part, bytesDone: Math.max(part.bytesDone, beat.bytesDone), attempt: found.attempt };
    if (bytesTotal !== undefined) live.bytesTotal = bytesTotal;
    if (beat.bytesPerSecond !== undefined) {
      live.bytesPerSecond = beat.bytesPerSecond;
      if (bytesTotal !== undefined && beat.bytesPerSecond > 0) live.etaSeconds = Math.ceil((bytesTotal - live.bytesDone) / beat.bytesPerSecond);
    }
    return live;
  });
  return { ...progress, parts };
}
