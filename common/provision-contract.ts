/**
 * The contract of the `provisionNodes` workflow: boot bare-metal nodes of a site from an image the
 * site already holds (xCAT: `nodeset <nodes> osimage=<name>`). Workflow-safe.
 */

export interface ProvisionNodesInput {
  guid: string;
  site: string;
  /** Node names as the site knows them (xCAT node objects). */
  nodes: string[];
}

/** What the site answered for one node. */
export interface NodeOutcome {
  ok: boolean;
  /** The site's own line for the node (xCAT: `cn01: netboot rhels8.6-x86_64-…`, or the error). */
  detail: string;
}

export interface ProvisionNodesResult {
  guid: string;
  site: string;
  nodes: Record<string, NodeOutcome>;
  /** Nodes the site did not provision (empty when all did). */
  failed: string[];
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** What is wrong with a node list, or undefined. */
export function nodesProblem(nodes: unknown): string | undefined {
  if (!Array.isArray(nodes) || nodes.length === 0) return 'nodes must be a non-empty list of node names';
  const bad = nodes.find((n) => typeof n !== 'string' || !NODE_NAME.test(n));
  return bad === undefined ? undefined : `not a node name: ${JSON.stringify(bad)} (letters, digits, '.', '_', '-'; not first '.', '_' or '-')`;
}
