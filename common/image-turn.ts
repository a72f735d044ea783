/**
 * One operation at a time per (site, GUID): a registration, a deregistration and a provisioning of
 * the same image at the same site never run against each other. Each run, before it touches the
 * site, waits for the runs of the other kinds that started before it (by Temporal's start time,
 * then workflow id), so they apply in the order they were asked and no two ever wait for each
 * other. See docs/faults.md ("One operation at a time per image and site"). Workflow-safe, pure.
 */

/** The workflow types that take turns on one (site, GUID). */
export const TURN_TAKING_TYPES = ['registerImage', 'deregisterImage', 'provisionNodes'] as const;
export type TurnTakingType = (typeof TURN_TAKING_TYPES)[number];

/** A run of one (site, GUID), as the turn check sees it. */
export interface TurnRun {
  type: string;
  workflowId: string;
  runId: string;
  /** Temporal's start time of the run, ms since the epoch. */
  startTime: number;
}

/** Whether `a` was asked before `b`: earlier start, ties broken by workflow id, then run id. */
export function askedBefore(a: TurnRun, b: TurnRun): boolean {
  if (a.startTime !== b.startTime) return a.startTime < b.startTime;
  if (a.workflowId !== b.workflowId) return a.workflowId < b.workflowId;
  return a.runId < b.runId;
}

/** The running runs `self` must wait for: the others asked before it, oldest first. */
export function runsAhead(self: TurnRun, running: readonly TurnRun[]): TurnRun[] {
  const seen = new Set<string>();
  return running
    .filter((r) => !(r.workflowId === self.workflowId && r.runId === self.runId) && askedBefore(r, self))
    .filter((r) => !seen.has(r.runId) && seen.add(r.runId))
    .sort((a, b) => (askedBefore(a, b) ? -1 : 1));
}

const WHAT: Record<string, string> = { registerImage: 'registration', deregisterImage: 'deregistration', provisionNodes: 'provisioning' };

/** `waiting for the registration imageproxy/site/guid to finish (one operation at a time per image and site)`. */
export function waitingText(ahead: readonly TurnRun[]): string {
  const runs = ahead.map((r) => `the ${WHAT[r.type] ?? r.type} ${r.workflowId}`).join(', ');
  return `waiting for ${runs} to finish (one operation at a time per image and site)`;
}
