/**
 * How a host's fleet transport talks to the distribution run: signals its sources, queries who has
 * a part, through the worker's Temporal client (the transport itself knows no Temporal).
 */
import type { WorkflowClient } from '@temporalio/client';
import { fleetSourceSignal, fleetSourcesQuery } from '../common/fleet-contract.js';
import type { FleetCoordinator } from '../activities/transports/peer/peer-transport.js';

export function fleetCoordinatorOf(workflows: WorkflowClient): FleetCoordinator {
  return {
    report: (fleet, report) => workflows.getHandle(fleet.workflowId, fleet.runId).signal(fleetSourceSignal, report),
    sources: (fleet, part) => workflows.getHandle(fleet.workflowId, fleet.runId).query(fleetSourcesQuery, part),
  };
}
