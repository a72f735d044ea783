/**
 * The typed client: start-or-attach a registration and wait for it, read status, list runs.
 * It validates requests before any I/O and talks only to Temporal, never to sites.
 * Its errors are in registration-errors.ts, the shapes of its answers in client-types.ts.
 */
import { type Client, type Connection, WorkflowNotFoundError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { connectClient, temporalSettings, type TemporalSettings } from './temporal-connection.js';
import { isSiteName, normalizeGuid } from '../common/guid.js';
import { retryingOf } from './retrying-state.js';
import { listRuns, missingFromSites, type RunFilter } from './run-listing.js';
import { cleanUpCutoff, type CollectGarbageInput, type CollectGarbageResult } from '../common/clean-up-contract.js';
import type { DeregisterImageResult, DistributeImageInput, DistributeImageResult } from '../common/distribute-contract.js';
import { cleanUpWorkflowId, deregisterWorkflowId, distributeWorkflowId, prefetchWorkflowId, provisionWorkflowId, registerWorkflowId, siteTaskQueue } from '../common/naming.js';
import { nodesProblem, type ProvisionNodesResult } from '../common/provision-contract.js';
import { cleanUpRunText, deregisterRunText, imageRunText, provisionRunText } from '../common/run-descriptions.js';
import {
  ImageGuidKey,
  ImageSiteKey,
  progressQuery,
  type RegisterImageInput,
  type RegisterImageResult,
  type RegisterMode,
  type Stage,
} from '../common/register-contract.js';
import { withHeartbeats, type PendingActivity } from './live-progress.js';
import type { collectGarbage } from '../workflows/collect-garbage.js';
import type { registerImage } from '../workflows/register-image.js';
import type { distributeImage } from '../workflows/distribute-image.js';
import type { deregisterImage } from '../workflows/deregister-image.js';
import type { provisionNodes } from '../workflows/provision-nodes.js';
import type { DistributeRequest, ImageStatus, ListedRun, MissingReport, WorkflowTypeName } from './client-types.js';
import { asRegistrationError, InvalidRequestError, RegistrationRunningError, validate, validateTarget } from './registration-errors.js';

export type { DistributeRequest, ImageStatus, ListedRun, MissingReport, WorkflowTypeName } from './client-types.js';
export { InvalidRequestError, RegistrationFailedError, RegistrationRunningError } from './registration-errors.js';

export interface ImageProxyClientOptions {
  /** @default from the environment and profile file (client/temporal-connection.ts), else `127.0.0.1:7233` */
  address?: string;
  /** @default from the environment and profile file, else `default` */
  namespace?: string;
  /** Complete settings (TLS, API key): used instead of reading them. */
  settings?: TemporalSettings;
}

export class ImageProxyClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
  ) {}

  static async connect(options: ImageProxyClientOptions = {}): Promise<ImageProxyClient> {
    const settings =
      options.settings ??
      temporalSettings({
        ...(options.address !== undefined ? { address: options.address } : {}),
        ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      });
    const { client, connection } = await connectClient(settings);
    return new ImageProxyClient(client, connection);
  }

  /**
   * Start the registration of (site, GUID), or attach to the one already running. Deduplication
   * comes from the workflow id: one running execution per id (USE_EXISTING). A closed run may be
   * followed by a new one (ALLOW_DUPLICATE) because the new run asks the site first and answers
   * at once from what the site holds: the site is the truth, not Temporal's retained history.
   */
  async start(asked: RegisterImageInput): Promise<WorkflowHandle<typeof registerImage>> {
    const request = { ...asked, guid: normalizeGuid(asked.guid) };
    validate(request);
    return this.temporal.workflow.start<typeof registerImage>('registerImage', {
      args: [{ url: request.url, guid: request.guid, site: request.site }],
      workflowId: registerWorkflowId(request.site, request.guid),
      taskQueue: siteTaskQueue(request.site),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      ...imageRunText({ url: request.url, guid: request.guid, sites: [request.site] }),
    });
  }

  /** Start or attach, then wait for the ids. */
  async registerImage(asked: RegisterImageInput): Promise<RegisterImageResult> {
    const request = { ...asked, guid: normalizeGuid(asked.guid) };
    const handle = await this.start(request);
    try {
      return await handle.result();
    } catch (err) {
      throw asRegistrationError(request.guid, request.site, err);
    }
  }

  /**
   * Start (or attach to) the distribution of an image to `sites`, run by the workers of
   * `coordinatorSite` (any site's workers can: the distribution holds no credentials, and each
   * site's own run goes to that site's queue). The id is deterministic (`distributeWorkflowId`).
   */
  async startDistribution(asked: DistributeRequest): Promise<WorkflowHandle<typeof distributeImage>> {
    const request = { ...asked, guid: normalizeGuid(asked.guid) };
    if (!Array.isArray(request.sites) || request.sites.length === 0) throw new InvalidRequestError('at least one site is needed');
    for (const site of request.sites) validateTarget(request.guid, site);
    validate({ url: request.url, guid: request.guid, site: request.coordinatorSite });
    const mode = request.mode ?? 'register';
    const input: DistributeImageInput = { url: request.url, guid: request.guid, sites: [...new Set(request.sites)], mode };
    if (request.siteTimeoutMs !== undefined) input.siteTimeoutMs = request.siteTimeoutMs;
    const workflowId = distributeWorkflowId(request.guid, input.sites, mode);
    if (workflowId.length > 900) throw new InvalidRequestError(`too many sites for one distribution (${input.sites.length}); split the request`);
    return this.temporal.workflow.start<typeof distributeImage>('distributeImage', {
      args: [input],
      workflowId,
      taskQueue: siteTaskQueue(request.coordinatorSite),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      ...imageRunText({ url: input.url, guid: input.guid, sites: input.sites, mode }),
    });
  }

  /** Distribute and wait for every site's outcome. Failed sites are reported, not thrown. */
  async distributeImage(asked: DistributeRequest): Promise<DistributeImageResult> {
    const request = { ...asked, guid: normalizeGuid(asked.guid) };
    const handle = await this.startDistribution(request);
    try {
      return await handle.result();
    } catch (err) {
      throw asRegistrationError(request.guid, request.sites.join(','), err);
    }
  }

  /**
   * Remove the image of `guid` from `site` (a `deregisterImage` run) and wait. Refused while a
   * registration of the same (site, GUID) is running, so the two never race.
   */
  async deregister(askedGuid: string, site: string): Promise<DeregisterImageResult> {
    const guid = normalizeGuid(askedGuid);
    validateTarget(guid, site);
    const running = await this.temporal.workflow
      .getHandle(registerWorkflowId(site, guid))
      .describe()
      .then((d) => d.status.name === 'RUNNING', (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)));
    if (running) throw new RegistrationRunningError(`a registration of ${guid} at ${site} is running; deregister it once it has finished`);
    const handle = await this.temporal.workflow.start<typeof deregisterImage>('deregisterImage', {
      args: [{ guid, site }],
      workflowId: deregisterWorkflowId(site, guid),
      taskQueue: siteTaskQueue(site),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      ...deregisterRunText(guid, site),
    });
    try {
      return await handle.result();
    } catch (err) {
      throw asRegistrationError(guid, site, err);
    }
  }

  /**
   * Boot `nodes` of `site` from its image of `guid` (a `provisionNodes` run on the site's queue)
   * and wait for one outcome per node. The image must be registered there first.
   */
  async provisionNodes(askedGuid: string, site: string, nodes: readonly string[]): Promise<ProvisionNodesResult> {
    const guid = normalizeGuid(askedGuid);
    validateTarget(guid, site);
    const problem = nodesProblem(nodes);
    if (problem) throw new InvalidRequestError(problem);
    const text = provisionRunText(guid, site, nodes);
    const handle = await this.temporal.workflow.start<typeof provisionNodes>('provisionNodes', {
      args: [{ guid, site, nodes: [...nodes] }],
      workflowId: provisionWorkflowId(site, guid, nodes),
      taskQueue: siteTaskQueue(site),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      ...text,
      // In visibility from the start: runs of the same (site, GUID) find it there to take turns (activities/image-turn.ts).
      typedSearchAttributes: [...text.typedSearchAttributes, { key: ImageGuidKey, value: guid }, { key: ImageSiteKey, value: site }],
    });
    try {
      return await handle.result();
    } catch (err) {
      throw asRegistrationError(guid, site, err);
    }
  }

  /** Where the registration (or, with `mode` prefetch, the prefetch) of a GUID at a site stands. */
  async getStatus(askedGuid: string, site: string, mode: RegisterMode = 'register'): Promise<ImageStatus | undefined> {
    const guid = normalizeGuid(askedGuid);
    validateTarget(guid, site);
    const workflowId = mode === 'prefetch' ? prefetchWorkflowId(site, guid) : registerWorkflowId(site, guid);
    const handle = this.temporal.workflow.getHandle<typeof registerImage>(workflowId);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    const status: ImageStatus = {
      guid,
      site,
      workflowId,
      runId: description.runId,
      status: description.status.name,
      stage: description.searchAttributes.ImageStage?.[0] as Stage | undefined,
      startTime: description.startTime,
      ...(description.closeTime ? { closeTime: description.closeTime } : {}),
    };
    if (description.status.name === 'RUNNING') {
      status.progress = withHeartbeats(await handle.query(progressQuery), this.pendingActivities(description.raw.pendingActivities));
      status.stage = status.progress.stage;
      const retrying = retryingOf(description.raw.pendingActivities, Date.now());
      if (retrying) status.retrying = retrying;
    } else if (description.status.name === 'COMPLETED') {
      status.ids = (await handle.result()).ids;
    } else {
      try {
        await handle.result();
      } catch (err) {
        status.error = asRegistrationError(guid, site, err).message;
      }
    }
    // A later, completed deregistration means the site no longer holds what this run registered.
    if (mode === 'prefetch') return status;
    const removal = await this.temporal.workflow
      .getHandle(deregisterWorkflowId(site, guid))
      .describe()
      .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? undefined : Promise.reject(err)));
    if (removal?.status.name === 'COMPLETED' && removal.startTime > status.startTime && removal.closeTime) {
      status.deregisteredAt = removal.closeTime;
      status.stage = 'deregistered';
      delete status.ids;
    }
    return status;
  }

  /**
   * Runs known to Temporal visibility, newest first, optionally of one site or GUID. Registrations
   * only, unless `types` names other workflow types (`deregisterImage`, `prefetchImage`, `distributeImage`).
   */
  async list(filter: RunFilter = {}): Promise<ListedRun[]> {
    return listRuns(this.temporal, filter);
  }

  /** Drift: for every GUID known to visibility, the sites among `sites` that do not hold it (see `missingFromSites`). */
  async missing(sites: readonly string[]): Promise<MissingReport[]> {
    return missingFromSites(await this.list({ types: ['registerImage', 'deregisterImage'] }), sites);
  }

  /**
   * Run the cloud clean-up of a site now and wait for what it did. Its own workflow id, so a
   * dry run never attaches to a scheduled run that deregisters.
   */
  async collectGarbage(input: CollectGarbageInput): Promise<CollectGarbageResult> {
    if (!isSiteName(input.site)) throw new InvalidRequestError(`not a site name: ${JSON.stringify(input.site)}`);
    const chosen = cleanUpCutoff(input, Date.now());
    if ('problem' in chosen) throw new InvalidRequestError(chosen.problem);
    return this.temporal.workflow.execute<typeof collectGarbage>('collectGarbage', {
      args: [input],
      workflowId: `${cleanUpWorkflowId(input.site)}/now-${Date.now()}`,
      taskQueue: siteTaskQueue(input.site),
      ...cleanUpRunText(input.site, input, input.dryRun),
    });
  }

  /** Pending activities of a description, their first heartbeat detail decoded. */
  private pendingActivities(raw: WorkflowExecutionDescription['raw']['pendingActivities']): PendingActivity[] {
    const converter = this.temporal.options.loadedDataConverter.payloadConverter;
    return (raw ?? []).map((a) => {
      const first = a.heartbeatDetails?.payloads?.[0];
      let details: unknown;
      try {
        details = first ? converter.fromPayload(first) : undefined;
      } catch {
        details = undefined; // details of a shape we cannot decode say nothing about progress
      }
      return { activityType: a.activityType?.name ?? '', attempt: a.attempt ?? 1, details };
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

