/**
 * Activities (site queue) of the turn taking of common/image-turn.ts: which runs of the same
 * (site, GUID) the calling run must wait for, and the wait itself. They ask Temporal, never the site.
 *
 * Registrations and deregistrations have one workflow id per (site, GUID), so `describe()` finds
 * them (strongly consistent). A provisioning's id names its nodes too, so a deregistration finds
 * them through visibility (ImageSite/ImageGuid, set by the client at start), which Temporal writes
 * a moment after the start: it waits until VISIBILITY_SETTLE_MS after its own run's start before it
 * lists them, so an older provisioning is seen. A registration does not look for provisionings
 * (docs/faults.md says why), so it pays no such wait.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ErrorType } from '../common/errors.js';
import { isGuid, isSiteName } from '../common/guid.js';
import { runsAhead, type TurnRun } from '../common/image-turn.js';
import { deregisterWorkflowId, registerWorkflowId } from '../common/naming.js';
import type { ActivityDeps } from './activity-deps.js';
import { heartbeatWhile } from './heartbeat-while.js';

/** How long after a run's start visibility is trusted to list the provisionings started before it. */
export const VISIBILITY_SETTLE_MS = 2000;

export function makeFindRunsAhead(deps: Pick<ActivityDeps, 'temporal'>) {
  return async function findRunsAhead({ site, guid }: { site: string; guid: string }): Promise<TurnRun[]> {
    // Both go into a visibility query below: checked, not trusted.
    if (!isSiteName(site) || !isGuid(guid)) throw ApplicationFailure.create({ type: ErrorType.InvalidRequest, nonRetryable: true, message: `not a (site, GUID): ${site}, ${guid}` });
    const { workflowExecution: own, workflowType } = Context.current().info;
    if (!own || !workflowType) throw ApplicationFailure.create({ type: ErrorType.Misconfigured, nonRetryable: true, message: 'findRunsAhead runs only inside a workflow' });
    const others = (
      [
        ['registerImage', registerWorkflowId(site, guid)],
        ['deregisterImage', deregisterWorkflowId(site, guid)],
      ] as const
    ).filter(([, workflowId]) => workflowId !== own.workflowId);
    // The look-ups are independent: at once, so a registration's answer waits for one round trip.
    const [me, ...described] = await Promise.all([
      deps.temporal.getHandle(own.workflowId, own.runId).describe(),
      ...others.map(([, workflowId]) =>
        deps.temporal
          .getHandle(workflowId)
          .describe()
          .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? undefined : Promise.reject(err))),
      ),
    ]);
    const self: TurnRun = { type: workflowType, workflowId: own.workflowId, runId: own.runId, startTime: me!.startTime.getTime() };
    const running: TurnRun[] = [];
    others.forEach(([type, workflowId], i) => {
      const d = described[i];
      if (d?.status.name === 'RUNNING') running.push({ type, workflowId, runId: d.runId, startTime: d.startTime.getTime() });
    });
    if (workflowType === 'deregisterImage') {
      const settle = self.startTime + VISIBILITY_SETTLE_MS - Date.now();
      if (settle > 0) await new Promise((r) => setTimeout(r, settle));
      const query = `WorkflowType = 'provisionNodes' AND ImageSite = '${site}' AND ImageGuid = '${guid}' AND ExecutionStatus = 'Running'`;
      for await (const w of deps.temporal.list({ query })) {
        running.push({ type: w.type, workflowId: w.workflowId, runId: w.runId, startTime: w.startTime.getTime() });
      }
    }
    return runsAhead(self, running);
  };
}

export function makeAwaitRunsClosed(deps: Pick<ActivityDeps, 'temporal'>) {
  /** Wait until each run has closed, whatever its outcome: only the order matters here. */
  return async function awaitRunsClosed({ runs }: { runs: TurnRun[] }): Promise<void> {
    const ctx = Context.current();
    await heartbeatWhile(async () => {
      for (const run of runs) {
        const closed = deps.temporal
          .getHandle(run.workflowId, run.runId)
          .result()
          .then(
            () => undefined,
            () => undefined,
          );
        await Promise.race([closed, ctx.cancelled]);
      }
    });
  };
}
