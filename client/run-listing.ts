/**
 * Reading the runs Temporal visibility knows: the list (filtered by site, GUID, workflow type) and
 * the drift computed from it (which sites lack an image they were given).
 */
import type { Client } from '@temporalio/client';
import { guidProblem, isGuid, isSiteName, normalizeGuid } from '../common/guid.js';
import type { ListedRun, MissingReport, WorkflowTypeName } from './client-types.js';
import { InvalidRequestError } from './registration-errors.js';

export interface RunFilter {
  site?: string;
  guid?: string;
  /** @default ['registerImage'] */
  types?: readonly WorkflowTypeName[];
}

/** Runs known to Temporal visibility, newest first, matching `filter`. */
export async function listRuns(temporal: Client, filter: RunFilter): Promise<ListedRun[]> {
  const types = filter.types ?? ['registerImage'];
  const clauses = [`WorkflowType IN (${types.map((t) => `'${t}'`).join(', ')})`];
  if (filter.site !== undefined) {
    if (!isSiteName(filter.site)) throw new InvalidRequestError(`not a site name: ${filter.site}`);
    clauses.push(`ImageSite = '${filter.site}'`);
  }
  if (filter.guid !== undefined) {
    const guid = normalizeGuid(filter.guid);
    const problem = guidProblem(guid);
    if (problem) throw new InvalidRequestError(problem);
    clauses.push(`ImageGuid = '${guid}'`);
  }
  const runs: ListedRun[] = [];
  for await (const w of temporal.workflow.list({ query: clauses.join(' AND ') })) {
    const attr = (name: string): string | undefined => (w.searchAttributes[name] as string[] | undefined)?.[0];
    runs.push({
      type: w.type,
      guid: attr('ImageGuid') ?? '',
      site: attr('ImageSite') ?? '',
      stage: attr('ImageStage'),
      status: w.status.name,
      workflowId: w.workflowId,
      runId: w.runId,
      startTime: w.startTime,
      ...(w.closeTime ? { closeTime: w.closeTime } : {}),
    });
  }
  return runs;
}

/**
 * Drift: for every GUID in `runs` (registrations and deregistrations), the sites among `sites`
 * that do not hold it. A site holds a GUID when its latest registration or deregistration of it
 * is a completed registration.
 */
export function missingFromSites(runs: readonly ListedRun[], sites: readonly string[]): MissingReport[] {
  const latest = new Map<string, ListedRun>();
  for (const r of runs) {
    const key = `${r.guid} ${r.site}`;
    const seen = latest.get(key);
    if (!seen || r.startTime > seen.startTime) latest.set(key, r);
  }
  // Only GUIDs that were images somewhere: a run of it completed (a request refused for a
  // wrong GUID, or one that never succeeded anywhere, is not drift).
  const guids = [...new Set(runs.filter((r) => isGuid(r.guid) && r.status === 'COMPLETED').map((r) => r.guid))].sort();
  return guids.map((guid) => {
    const holds = (site: string): boolean => {
      const r = latest.get(`${guid} ${site}`);
      return r?.type === 'registerImage' && r.status === 'COMPLETED';
    };
    return { guid, present: sites.filter(holds), missing: sites.filter((s) => !holds(s)) };
  });
}
