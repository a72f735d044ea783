/**
 * provisionNodes: boot bare-metal nodes of one site from an image the site already holds
 * (workflow id `provisionWorkflowId(site, guid, nodes)`), through the site's own backend on its
 * task queue. One outcome per node: a node the site refuses does not fail the others. It carries
 * the image's search attributes, so the Temporal UI lists it beside the GUID's registrations.
 */
import { ApplicationFailure, patched, proxyActivities, setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { createSiteQueueActivities } from '../activities/index.js';
import { ErrorType } from '../common/errors.js';
import { guidProblem, isSiteName } from '../common/guid.js';
import { siteTaskQueue } from '../common/naming.js';
import { nodesProblem, type ProvisionNodesInput, type ProvisionNodesResult } from '../common/provision-contract.js';
import { ImageGuidKey, ImageSiteKey, ImageStageKey } from '../common/register-contract.js';
import { ACTIVITY_RETRY } from '../common/retry-policies.js';
import { provisionSummary } from '../common/run-descriptions.js';
import { retryingSignal } from '../common/retry-notice.js';
import { awaitTurn, IMAGE_TURN_PATCH } from './await-turn.js';

type SiteActivities = ReturnType<typeof createSiteQueueActivities>;

export async function provisionNodes(input: ProvisionNodesInput): Promise<ProvisionNodesResult> {
  const problem =
    guidProblem(input?.guid) ?? (isSiteName(input?.site) ? undefined : `not a site name: ${JSON.stringify(input?.site)}`) ?? nodesProblem(input?.nodes);
  if (problem) throw ApplicationFailure.create({ type: ErrorType.InvalidRequest, nonRetryable: true, message: problem });
  const { guid, site } = input;
  const nodes = [...new Set(input.nodes)];
  upsertSearchAttributes([
    { key: ImageGuidKey, value: guid },
    { key: ImageSiteKey, value: site },
    { key: ImageStageKey, value: 'provisioning' },
  ]);
  upsertMemo({ guid, site, operation: 'provision', nodes });
  const onSite = proxyActivities<SiteActivities>({
    taskQueue: siteTaskQueue(site),
    startToCloseTimeout: '30m',
    retry: ACTIVITY_RETRY.provisionNodes,
  });
  let outcomes: ProvisionNodesResult['nodes'];
  try {
    // One operation at a time per (site, GUID): nodes never boot from an image being registered or removed.
    const stage = `**Stage:** provisioning ${nodes.length} node(s) at ${site}`;
    if (patched(IMAGE_TURN_PATCH)) await awaitTurn(site, guid, (waiting) => setCurrentDetails(`${stage}${waiting ? `\n\n**Waiting:** ${waiting}` : ''}`));
    setCurrentDetails(stage);
    setHandler(retryingSignal, ({ text }) => setCurrentDetails(`${stage}\n\n**Retrying:** ${text}`)); // common/retry-notice.ts
    outcomes = await onSite.provisionNodes.executeWithOptions({ summary: provisionSummary(guid, site, nodes) }, [{ guid, nodes }]);
  } catch (err) {
    upsertSearchAttributes([{ key: ImageStageKey, value: 'failed' }]);
    setCurrentDetails(`**Stage:** failed\n\n**Failed:** ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  setCurrentDetails(['**Stage:** provisioned', '', ...nodes.map((n) => `- ${n}: ${outcomes[n]?.ok === true ? 'ok' : 'failed'}${outcomes[n]?.detail ? `: ${outcomes[n]?.detail}` : ''}`)].join('\n'));
  const failed = nodes.filter((n) => outcomes[n]?.ok !== true);
  upsertSearchAttributes([{ key: ImageStageKey, value: 'provisioned' }]);
  upsertMemo({ failed });
  return { guid, site, nodes: outcomes, failed };
}
