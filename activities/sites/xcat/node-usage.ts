/**
 * Which nodes an osimage is provisioned to, from `lsdef -t node -w provmethod==<osimage> -i provmethod`.
 * Pure. `nodeset <nodes> osimage=<name>` sets each node's provmethod to the osimage name, so a node
 * whose provmethod is the osimage boots (or will boot) it. (A node can also name a netboot image the
 * older way, `provmethod=netboot` with `profile=<its profile>`: the same query on `profile`.) The formats, from xcat2/xcat-core
 * (xCAT-server/lib/xcat/plugins/DBobjectdefs.pm, processArgs and defls):
 *
 *   matches, exit 0:      Object name: cn01
 *                             provmethod=<osimage>        (four spaces; -i shows the attr even if unset)
 *   no node matches:      nothing at all, exit 0 (defls prints only matching objects); newer xCAT
 *                         prints `No object definitions have been found`
 *   empty node table:     `Could not find any object definitions to display.` (defls, exit 0), or
 *                         processArgs' `Error: [<mn>]: Could not get objects of type 'node'.`, exit 1
 *
 * Only these count as an answer. Anything else (xcatd down, permission denied, a stanza that is not
 * this osimage, stray output) is an error: the clean-up must never take "could not tell" for "unused".
 */
import { describeFailure, failureKindOf, parseLsdefStanzas, type CommandResult, type FailureKind } from './xcat-output.js';

export type NodeUsage = { kind: 'in-use'; nodes: string[] } | { kind: 'unused' } | { kind: 'error'; failure: FailureKind; message: string };

const NONE_FOUND = /^No object definitions have been found\.?$/;
const EMPTY_TABLE = /^Could not find any object definitions to display\.?$/;
const NO_NODES = /^Error: (?:\[[^\]]*\]: )?Could not get objects of type 'node'\.$/;

/** The argv (after the lsdef path) that asks which nodes have `attr` set to exactly `value`. */
export function nodesUsingArgs(value: string, attr = 'provmethod'): string[] {
  return ['-t', 'node', '-w', `${attr}==${value}`, '-i', attr];
}

/** Classify the answer to `nodesUsingArgs(value, attr)`. */
export function classifyNodeUsage(result: CommandResult, value: string, attr = 'provmethod'): NodeUsage {
  const error = (why: string): NodeUsage => ({ kind: 'error', failure: failureKindOf(result), message: `${why}: ${describeFailure(result)}` });
  const out = lines(result.stdout);
  const err = lines(result.stderr);

  if (result.code === 1 && out.length === 0 && err.length === 1 && NO_NODES.test(err[0]!)) return { kind: 'unused' };
  if (result.code !== 0) return error('lsdef failed');
  if (err.length > 0) return error('lsdef printed errors');
  if (out.length === 0) return { kind: 'unused' };
  if (out.length === 1 && (NONE_FOUND.test(out[0]!) || EMPTY_TABLE.test(out[0]!))) return { kind: 'unused' };

  const stanzas = parseLsdefStanzas(result.stdout);
  // Every line must belong to a stanza: anything else is output we do not understand.
  const understood = out.every((l) => /^Object name: \S+$/.test(l) || /^\s+[A-Za-z0-9_.]+=.*$/.test(l));
  if (!understood || stanzas.size === 0) return error('unexpected lsdef output');
  const nodes: string[] = [];
  for (const [node, attrs] of stanzas) {
    // -w attr== is an exact match; a node with another value means we misread something.
    if (attrs[attr] !== value) return error(`lsdef listed node ${node} with ${attr}=${attrs[attr] ?? '(none)'}`);
    nodes.push(node);
  }
  return { kind: 'in-use', nodes };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
