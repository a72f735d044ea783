/**
 * Heartbeat from a timer while `work` runs, whatever the work reports: a backend that is silent
 * for minutes (qemu-img convert of a large QCOW2, one slow S3 part, xCAT scanning a gzipped
 * bundle, a deregistration) still heartbeats, so only a dead worker misses its heartbeat timeout.
 * Details the work reports (`beat`) are sent at once and repeated by the timer, so a retry still
 * finds the last ones in `heartbeatDetails`.
 */
import { Context } from '@temporalio/activity';

/** How often the timer heartbeats: well inside the shortest heartbeat timeout the workflows set (15 s). */
export const HEARTBEAT_EVERY_MS = 3000;

export async function heartbeatWhile<T>(
  work: (beat: (details?: unknown) => void) => Promise<T>,
  options: { heartbeat?: (details?: unknown) => void; everyMs?: number } = {},
): Promise<T> {
  const send = options.heartbeat ?? ((details?: unknown) => Context.current().heartbeat(details));
  let last: unknown = undefined;
  const beat = (details?: unknown): void => {
    if (details !== undefined) last = details;
    send(last);
  };
  beat();
  const timer = setInterval(beat, options.everyMs ?? HEARTBEAT_EVERY_MS);
  try {
    return await work(beat);
  } finally {
    clearInterval(timer);
  }
}
