/**
 * Public names: workflow ids and task queues. Workers and clients both import these,
 * so no name is ever spelled twice. Workflow-safe.
 */

/**
 * Workflow id of the registration of one image at one site: `imageproxy/<site>/<guid>`.
 * This is a public contract: callers may compute it to attach to or inspect a run.
 */
export function registerWorkflowId(site: string, guid: string): string {
  return `imageproxy/${site}/${guid}`;
}

/** Task queue of a site: its workflows and the activities any of its workers may run. */
export function siteTaskQueue(site: string): string {
  return `imageproxy.site.${site}`;
}

/**
 * Task queue of one worker host of a site. Activities that hand files to each other
 * (download, then register) run here so that they share a disk. The host id is stable
 * across restarts so that a restarted worker resumes partial downloads it left on disk.
 */
export function hostTaskQueue(site: string, hostId: string): string {
  return `imageproxy.host.${site}.${hostId}`;
}

/**
 * Workflow id of a prefetch of one image at one site: `imageproxy-prefetch/<site>/<guid>`. Its own
 * first segment, so it never collides with a registration (site names cannot contain `/`).
 */
export function prefetchWorkflowId(site: string, guid: string): string {
  return `imageproxy-prefetch/${site}/${guid}`;
}

/** Workflow id of the removal of one image from one site: `imageproxy-deregister/<site>/<guid>`. */
export function deregisterWorkflowId(site: string, guid: string): string {
  return `imageproxy-deregister/${site}/${guid}`;
}

/**
 * Workflow id of a distribution of one image to a set of sites:
 * `imageproxy-distribute/<guid>/<site>,<site>…` (`imageproxy-distribute-prefetch/…` for a prefetch),
 * sites sorted, so the same request always names the same run and different site sets never
 * share one.
 */
/** What every distribution's workflow id starts with (register and prefetch alike). */
export const DISTRIBUTE_WORKFLOW_ID_PREFIX = 'imageproxy-distribute';

export function distributeWorkflowId(guid: string, sites: readonly string[], mode: 'register' | 'prefetch' = 'register'): string {
  const prefix = mode === 'prefetch' ? 'imageproxy-distribute-prefetch' : 'imageproxy-distribute';
  return `${prefix}/${guid}/${[...new Set(sites)].sort().join(',')}`;
}

/**
 * Workflow id of provisioning nodes of a site with an image:
 * `imageproxy-provision/<site>/<guid>/<node>,<node>…`, nodes sorted, so the same request attaches
 * to a running one.
 */
export function provisionWorkflowId(site: string, guid: string, nodes: readonly string[]): string {
  return `imageproxy-provision/${site}/${guid}/${[...new Set(nodes)].sort().join(',')}`;
}

/** Workflow id of a clean-up run of a site (scheduled runs get the schedule's suffix). */
export function cleanUpWorkflowId(site: string): string {
  return `imageproxy-gc/${site}`;
}

/** Id of the Temporal Schedule that runs a site's clean-up. */
export function cleanUpScheduleId(site: string): string {
  return `imageproxy-gc/${site}`;
}
