/**
 * Allowlists for every value that goes into a command on the management node: names are
 * `^[A-Za-z0-9][A-Za-z0-9._-]*$`, paths are absolute, normalised, free of `..` and under the
 * install root. Pure. Values are quoted as well (shell-quote.ts); these checks keep a hostile
 * value from being a valid but wrong argument (`-f`, `../../etc`).
 */
import { posix } from 'node:path';

export const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class RemoteValueError extends Error {
  override readonly name = 'RemoteValueError';
}

/** `value` as a name (osimage, osvers, osarch, profile, node), or a RemoteValueError naming `what`. */
export function checkName(value: string, what: string): string {
  if (!NAME_RULE.test(value) || value.length > 128) {
    throw new RemoteValueError(`${what} ${JSON.stringify(value)} is not a valid name (letters, digits, ".", "_", "-"; not starting with a punctuation mark)`);
  }
  return value;
}

/** Whether `path` is `root` or below it, both absolute POSIX paths. */
export function isUnder(path: string, root: string): boolean {
  const r = posix.normalize(root).replace(/\/+$/, '') || '/';
  return path === r || path.startsWith(r === '/' ? '/' : `${r}/`);
}

/**
 * `path` checked as a path on the management node under `root`: absolute, no `..` component,
 * no empty or `.` component, no control characters. Answers the path unchanged.
 */
export function checkPathUnder(path: string, root: string, what: string): string {
  const problem = pathProblem(path, root);
  if (problem) throw new RemoteValueError(`${what} ${JSON.stringify(path)} ${problem}`);
  return path;
}

function pathProblem(path: string, root: string): string | undefined {
  if (!path.startsWith('/')) return 'is not an absolute path';
  if (/[\x00-\x1f\x7f]/.test(path)) return 'contains a control character';
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '..')) return 'contains ".."';
  if (parts.some((p, i) => p === '.' || (p === '' && i !== parts.length - 1))) return 'is not normalised';
  if (!isUnder(path.replace(/\/$/, ''), root)) return `is not under the install root ${root}`;
  return undefined;
}
