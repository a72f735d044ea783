/** Links into the Temporal web UI, for printing where a run can be watched. Pure. */

/** The UI page of one run: `<ui>/namespaces/<ns>/workflows/<id>/<runId>/history` (ids are encoded: ours hold `/`). */
export function workflowUiLink(uiBaseUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiBaseUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/** The UI's workflow list, filtered by a visibility query such as `ImageGuid="…"`. */
export function workflowListUiLink(uiBaseUrl: string, namespace: string, query?: string): string {
  const base = `${uiBaseUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  return query ? `${base}?query=${encodeURIComponent(query)}` : base;
}
