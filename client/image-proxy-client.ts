/**
 * The typed client: start-or-attach a registration and wait for it, read status, list runs.
 * It validates requests before any I/O and talks only to Temporal, never to sites.
 */
import { ApplicationFailure, Client, Connection, WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { guidProblem, isSiteName } from '../common/guid.js';
import type { ImageIds } from '../common/image-types.js';
import { registerWorkflowId, siteTaskQueue } from '../common/naming.js';
import {
  progressQuery,
  type RegisterImageInput,
  type RegisterImageResult,
  type RegisterProgress,
  type Stage,
} from '../common/register-contract.js';
import type { registerImage } from '../workflows/register-image.js';

export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
}

/** A registration failed; `message` says why, `cause` holds the Temporal failure chain. */
export class RegistrationFailedError extends Error {
  override readonly name = 'RegistrationFailedError';
  constructor(
    readonly guid: string,
    readonly site: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ImageStatus {
  guid: string;
  site: string;
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, … */
  status: string;
  stage: Stage | undefined;
  progress?: RegisterProgress;
  ids?: ImageIds;
  error?: string;
  startTime: Date;
  closeTime?: Date;
}

export interface ImageProxyClientOptions {
  /** @default `TEMPORAL_ADDRESS` or `127.0.0.1:7233` */
  address?: string;
  /** @default `TEMPORAL_NAMESPACE` or `default` */
  namespace?: string;
}

export class ImageProxyClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
  ) {}

  static async connect(options: ImageProxyClientOptions = {}): Promise<ImageProxyClient> {
    const address = options.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const namespace = options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
    const connection = await Connection.connect({ address });
    return new ImageProxyClient(new Client({ connection, namespace }), connection);
  }

  /**
   * Start the registration of (site, GUID), or attach to the one already running. Deduplication
   * comes from the workflow id: one running execution per id (USE_EXISTING). A closed run may be
   * followed by a new one (ALLOW_DUPLICATE) because the new run asks the site first and answers
   * at once from what the site holds: the site is the truth, not Temporal's retained history.
   */
  async start(request: RegisterImageInput): Promise<WorkflowHandle<typeof registerImage>> {
    validate(request);
    return this.temporal.workflow.start<typeof registerImage>('registerImage', {
      args: [{ url: request.url, guid: request.guid, site: request.site }],
      workflowId: registerWorkflowId(request.site, request.guid),
      taskQueue: siteTaskQueue(request.site),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  }

  /** Start or attach, then wait for the ids. */
  async registerImage(request: RegisterImageInput): Promise<RegisterImageResult> {
    const handle = await this.start(request);
    try {
      return await handle.result();
    } catch (err) {
      throw asRegistrationError(request.guid, request.site, err);
    }
  }

  async getStatus(guid: string, site: string): Promise<ImageStatus | undefined> {
    validateTarget(guid, site);
    const workflowId = registerWorkflowId(site, guid);
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
      status.progress = await handle.query(progressQuery);
      status.stage = status.progress.stage;
    } else if (description.status.name === 'COMPLETED') {
      status.ids = (await handle.result()).ids;
    } else {
      try {
        await handle.result();
      } catch (err) {
        status.error = asRegistrationError(guid, site, err).message;
      }
    }
    return status;
  }

  /** Registration runs known to Temporal visibility, newest first, optionally of one site or GUID. */
  async list(filter: { site?: string; guid?: string } = {}): Promise<ListedRun[]> {
    const clauses = [`WorkflowType = 'registerImage'`];
    if (filter.site !== undefined) {
      if (!isSiteName(filter.site)) throw new InvalidRequestError(`not a site name: ${filter.site}`);
      clauses.push(`ImageSite = '${filter.site}'`);
    }
    if (filter.guid !== undefined) {
      const problem = guidProblem(filter.guid);
      if (problem) throw new InvalidRequestError(problem);
      clauses.push(`ImageGuid = '${filter.guid}'`);
    }
    const runs: ListedRun[] = [];
    for await (const w of this.temporal.workflow.list({ query: clauses.join(' AND ') })) {
      const attr = (name: string): string | undefined => (w.searchAttributes[name] as string[] | undefined)?.[0];
      runs.push({
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

  async close(): Promise<void> {
    await this.connection.close();
  }
}

export interface ListedRun {
  guid: string;
  site: string;
  stage: string | undefined;
  status: string;
  workflowId: string;
  runId: string;
  startTime: Date;
  closeTime?: Date;
}

function validateTarget(guid: string, site: string): void {
  const problem = guidProblem(guid);
  if (problem) throw new InvalidRequestError(problem);
  if (!isSiteName(site)) throw new InvalidRequestError(`not a site name: ${JSON.stringify(site)}`);
}

function validate(request: RegisterImageInput): void {
  validateTarget(request.guid, request.site);
  if (typeof request.url !== 'string' || !URL.canParse(request.url)) {
    throw new InvalidRequestError(`metadata URL is not an absolute URL: ${JSON.stringify(request.url)}`);
  }
}

/** The deepest application failure says what went wrong (the layers above say where). */
function asRegistrationError(guid: string, site: string, err: unknown): Error {
  if (!(err instanceof WorkflowFailedError)) return err as Error;
  let message = err.message;
  for (let cause: unknown = err.cause; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure || !(cause.cause instanceof Error)) {
      message = cause.message;
      if (cause instanceof ApplicationFailure) break;
    }
  }
  return new RegistrationFailedError(guid, site, `registration of ${guid} at ${site} failed: ${message}`, { cause: err });
}
