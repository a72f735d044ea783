/** Activity (site queue): boot `nodes` from the site's image of `guid` (a backend that can: xCAT). */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../common/errors.js';
import type { NodeOutcome } from '../common/provision-contract.js';
import type { ActivityDeps } from './activity-deps.js';

export function makeProvisionNodes(deps: Pick<ActivityDeps, 'backend' | 'logger'>) {
  return async function provisionNodes({ guid, nodes }: { guid: string; nodes: string[] }): Promise<Record<string, NodeOutcome>> {
    const { backend } = deps;
    if (!backend.provision) {
      throw ApplicationFailure.create({
        type: ErrorType.SiteRejected,
        nonRetryable: true,
        message: `site ${backend.site} (type ${backend.type}) has no nodes to provision; only xcat sites do`,
      });
    }
    const outcomes = await backend.provision(guid, nodes);
    deps.logger.info({ guid, site: backend.site, outcomes }, 'provisioned nodes');
    return outcomes;
  };
}
