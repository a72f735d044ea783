/**
 * Reads a run the way the Temporal web UI does: through the UI server's own HTTP API
 * (`/api/v1/namespaces/<ns>/workflows/…`, the gRPC gateway the UI's pages call), not through the
 * SDK. Payloads arrive as base64 JSON; this decodes the ones the UI shows.
 */

interface Payload {
  metadata?: Record<string, string>;
  data?: string;
}

interface UserMetadata {
  summary?: Payload;
  details?: Payload;
}

export interface UiRun {
  summary: string | undefined;
  details: string | undefined;
  status: string;
  /** The running activities, as the UI's "Pending Activities" view lists them. */
  pendingActivities: { activityType: string; attempt: number; heartbeat: unknown }[];
}

export interface UiActivityCall {
  activityType: string;
  summary: string | undefined;
}

/** A payload as the UI shows it: JSON decoded, or the raw text. */
export function decodePayload(p: Payload | undefined): unknown {
  if (!p?.data) return undefined;
  const text = Buffer.from(p.data, 'base64').toString('utf8');
  const encoding = p.metadata?.encoding ? Buffer.from(p.metadata.encoding, 'base64').toString('utf8') : '';
  return encoding.startsWith('json/') ? JSON.parse(text) : text;
}

export class TemporalUiApi {
  private csrf: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly namespace = 'default',
  ) {}

  private path(workflowId: string, rest = ''): string {
    return `${this.baseUrl}/api/v1/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(workflowId)}${rest}`;
  }

  private async getJson(url: string): Promise<Record<string, unknown>> {
    const res = await fetch(url);
    const cookie = /_csrf=([^;]+)/.exec(res.headers.get('set-cookie') ?? '');
    if (cookie) this.csrf = cookie[1];
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  }

  async describe(workflowId: string): Promise<UiRun> {
    const d = (await this.getJson(this.path(workflowId))) as {
      executionConfig?: { userMetadata?: UserMetadata };
      workflowExecutionInfo?: { status?: string };
      pendingActivities?: { activityType?: { name?: string }; attempt?: number; heartbeatDetails?: { payloads?: Payload[] } }[];
    };
    const meta = d.executionConfig?.userMetadata;
    return {
      summary: decodePayload(meta?.summary) as string | undefined,
      details: decodePayload(meta?.details) as string | undefined,
      status: d.workflowExecutionInfo?.status ?? '',
      pendingActivities: (d.pendingActivities ?? []).map((a) => ({
        activityType: a.activityType?.name ?? '',
        attempt: a.attempt ?? 0,
        heartbeat: decodePayload(a.heartbeatDetails?.payloads?.[0]),
      })),
    };
  }

  /** Every activity the run scheduled, with the summary the UI's timeline shows beside it. */
  async activityCalls(workflowId: string): Promise<UiActivityCall[]> {
    const calls: UiActivityCall[] = [];
    let token = '';
    do {
      const page = (await this.getJson(this.path(workflowId, `/history?nextPageToken=${encodeURIComponent(token)}`))) as {
        history?: { events?: { eventType?: string; userMetadata?: UserMetadata; activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] };
        nextPageToken?: string;
      };
      for (const e of page.history?.events ?? []) {
        if (e.eventType !== 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED') continue;
        calls.push({ activityType: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '', summary: decodePayload(e.userMetadata?.summary) as string | undefined });
      }
      token = page.nextPageToken ?? '';
    } while (token);
    return calls;
  }

  /**
   * The rows of the UI's workflow list for a visibility query, with each row's search attributes
   * as the list's columns show them (Keyword values decoded).
   */
  async listRows(query: string): Promise<{ workflowId: string; searchAttributes: Record<string, unknown> }[]> {
    const url = `${this.baseUrl}/api/v1/namespaces/${encodeURIComponent(this.namespace)}/workflows?query=${encodeURIComponent(query)}`;
    const page = (await this.getJson(url)) as {
      executions?: { execution?: { workflowId?: string }; searchAttributes?: { indexedFields?: Record<string, Payload> } }[];
    };
    return (page.executions ?? []).map((e) => ({
      workflowId: e.execution?.workflowId ?? '',
      searchAttributes: Object.fromEntries(Object.entries(e.searchAttributes?.indexedFields ?? {}).map(([k, v]) => [k, decodePayload(v)])),
    }));
  }

  /** The run's current details, through the built-in metadata query the UI sends (a POST: CSRF token required). */
  async currentDetails(workflowId: string): Promise<string> {
    if (!this.csrf) await this.getJson(`${this.baseUrl}/api/v1/namespaces/${encodeURIComponent(this.namespace)}/workflows?pageSize=1`);
    const queryType = '__temporal_workflow_metadata';
    const res = await fetch(this.path(workflowId, `/query/${queryType}`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': this.csrf ?? '', cookie: `_csrf=${this.csrf ?? ''}` },
      body: JSON.stringify({ execution: { workflowId }, query: { queryType } }),
    });
    const body = (await res.json()) as { queryResult?: { payloads?: Payload[] }; message?: string };
    if (!res.ok) throw new Error(`query ${queryType} of ${workflowId}: ${res.status} ${body.message ?? ''}`);
    const metadata = decodePayload(body.queryResult?.payloads?.[0]) as { currentDetails?: string } | undefined;
    return metadata?.currentDetails ?? '';
  }
}
