/**
 * What xCAT's commands print, parsed. Pure. The formats, from xcat2/xcat-core:
 *
 * `lsdef -t osimage -o N` (xCAT-server/lib/xcat/plugins/DBobjectdefs.pm, defls):
 *     Object name: N
 *         attr=value          (sorted, four spaces)
 *   not found: stderr `Error: [<mn>]: Could not find an object named 'N' of type 'osimage'.`,
 *              stdout `No object definitions have been found`, exit 1;
 *   no osimage at all (the empty-table quirk): stdout `Could not find any object definitions to
 *              display.`, exit 0.
 * `mkdef`/`chdef`: `1 object definitions have been created or modified.`; an existing object
 *   without -f: `Warning: [<mn>]: A definition for 'N' already exists.` and
 *   `Error: [<mn>]: 0 object definitions have been created or modified.`, exit 1.
 * `rmdef`: `1 object definitions have been removed.`
 * `imgimport` (imgport.pm, extract_bundle): `Unbundling image...`, the files it places, then
 *   `Successfully imported the image N.`; errors as `Error: [<mn>]: …`.
 * `nodeset n osimage=N` (destiny.pm): one `n: <state>` line a node, e.g. `n: netboot <osvers>-<osarch>-<profile>`.
 * Any command with xcatd down (xCAT-client, xCAT/Client.pm): `Unable to open socket connection to
 *   xcatd daemon on localhost:3001.` / `Verify that the xcatd daemon is running …`.
 */

/** What one remote command did. */
export interface CommandResult {
  /** The argv, as run (before quoting). */
  argv: readonly string[];
  /** Exit code; null when it ended on a signal. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

/** Why a command did not do what it should: decides retry and error type. */
export type FailureKind = 'xcatd-down' | 'permission-denied' | 'other';

export type LsdefOutcome =
  | { kind: 'exists'; attrs: Record<string, string> }
  | { kind: 'not-found' }
  | { kind: 'error'; failure: FailureKind; message: string };

/** Parse `lsdef` stanzas: object name → attributes. */
export function parseLsdefStanzas(stdout: string): Map<string, Record<string, string>> {
  const objects = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^Object name: (.+?)\s*$/.exec(line);
    if (head) {
      current = {};
      objects.set(head[1]!, current);
      continue;
    }
    const attr = /^\s+([A-Za-z0-9_.]+)=(.*)$/.exec(line);
    if (attr && current) current[attr[1]!] = attr[2]!;
  }
  return objects;
}

/** Classify `lsdef -t osimage -o name`. Only the known outputs count as an answer; anything else is an error. */
export function classifyLsdef(result: CommandResult, name: string): LsdefOutcome {
  const stanzas = parseLsdefStanzas(result.stdout);
  const attrs = stanzas.get(name);
  if (result.code === 0 && attrs) return { kind: 'exists', attrs };
  const notFound = new RegExp(`Could not find an object named '${escapeRegExp(name)}' of type 'osimage'`);
  if (result.code === 1 && notFound.test(result.stderr) && /No object definitions have been found/.test(result.stdout)) {
    return { kind: 'not-found' };
  }
  if (result.code === 0 && /^Could not find any object definitions to display\.?\s*$/m.test(result.stdout) && stanzas.size === 0) {
    return { kind: 'not-found' };
  }
  return { kind: 'error', failure: failureKindOf(result), message: describeFailure(result) };
}

/** Whether `mkdef`/`chdef` created or changed at least one object. */
export function definedCount(result: CommandResult): number {
  const m = /^(\d+) object definitions have been created or modified\./m.exec(result.stdout);
  return result.code === 0 && m ? Number(m[1]) : 0;
}

/** Whether `mkdef` refused because the object exists (no -f). */
export function alreadyExists(result: CommandResult, name: string): boolean {
  return new RegExp(`A definition for '${escapeRegExp(name)}' already exists`).test(result.stderr + result.stdout);
}

/** Objects `rmdef` removed. */
export function removedCount(result: CommandResult): number {
  const m = /^(\d+) object definitions have been removed\./m.exec(result.stdout);
  return result.code === 0 && m ? Number(m[1]) : 0;
}

/** The osimage `imgimport` says it imported, or undefined. */
export function importedImageName(result: CommandResult): string | undefined {
  if (result.code !== 0 || /^Error:/m.test(result.stderr)) return undefined;
  return /^Successfully imported the image (\S+)\.\s*$/m.exec(result.stdout)?.[1];
}

/** Per node, what `nodeset` answered (`n: netboot …` or an error line naming the node). */
export function parseNodesetOutput(result: CommandResult, nodes: readonly string[]): Record<string, { ok: boolean; detail: string }> {
  const answer: Record<string, { ok: boolean; detail: string }> = {};
  for (const node of nodes) {
    const re = new RegExp(`^${escapeRegExp(node)}: (.*)$`, 'm');
    const err = new RegExp(`^Error: (?:\\[[^\\]]*\\]: )?${escapeRegExp(node)}: (.*)$`, 'm');
    const e = err.exec(result.stderr) ?? err.exec(result.stdout);
    const o = re.exec(result.stdout);
    if (e) answer[node] = { ok: false, detail: e[1]! };
    else if (o) answer[node] = { ok: result.code === 0, detail: o[1]! };
    else answer[node] = { ok: false, detail: result.code === 0 ? 'no answer for this node' : describeFailure(result) };
  }
  return answer;
}

export function failureKindOf(result: CommandResult): FailureKind {
  const text = result.stdout + result.stderr;
  if (/Unable to open socket connection to xcatd/.test(text)) return 'xcatd-down';
  if (/Permission denied/i.test(text)) return 'permission-denied';
  return 'other';
}

/** One line for an error message: the command, its exit and the last lines it printed. */
export function describeFailure(result: CommandResult): string {
  const exit = result.code === null ? `signal ${result.signal ?? '?'}` : `exit ${result.code}`;
  const lines = [...result.stdout.split('\n'), ...result.stderr.split('\n')].map((l) => l.trim()).filter(Boolean);
  const out = lines.slice(-4).join(' | ');
  return `${result.argv.join(' ')}: ${exit}${out ? `: ${out}` : ''}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
