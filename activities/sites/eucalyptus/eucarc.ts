/**
 * The `eucarc` a Eucalyptus cloud issues with a user's credentials: a shell fragment of
 * `export NAME=value` lines. We read it as data, never run it: quotes are honoured, `$NAME` and
 * `${NAME}` refer to earlier assignments, and `EUCA_KEY_DIR` is the eucarc's own directory (the
 * file computes it with a command substitution we do not execute). Pure; no I/O.
 */
import { isAbsolute, resolve } from 'node:path';

/** The variables of a eucarc, by name, with references expanded. */
export type EucarcVariables = Record<string, string>;

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/**
 * Parse a eucarc's text. `dir` is the directory it was read from (it becomes `EUCA_KEY_DIR`).
 * Lines that are not plain assignments (aliases, functions, comments) are ignored, as are values
 * that need a shell to evaluate (`$(…)`, backquotes).
 */
export function parseEucarc(text: string, dir: string): EucarcVariables {
  const vars: EucarcVariables = { EUCA_KEY_DIR: dir };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = ASSIGNMENT.exec(line);
    if (!m) continue;
    const [, name, rest] = m as unknown as [string, string, string];
    if (name === 'EUCA_KEY_DIR') continue; // computed by the shell; we know it already
    const value = readShellWord(rest, vars);
    if (value !== undefined) vars[name] = value;
  }
  return vars;
}

/** The path a eucarc variable names, made absolute against the eucarc's directory. */
export function eucarcPath(vars: EucarcVariables, name: string, dir: string): string | undefined {
  const value = vars[name];
  if (value === undefined || value === '') return undefined;
  return isAbsolute(value) ? value : resolve(dir, value);
}

/**
 * One shell word: single quotes literal, double quotes and bare text with `$NAME`/`${NAME}`
 * expanded (unknown names expand to nothing, as in the shell). Undefined when the word needs a
 * shell (command substitution) or is unterminated. Stops at unquoted whitespace, `;` or `#`.
 */
function readShellWord(text: string, vars: EucarcVariables): string | undefined {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const end = findClosingDoubleQuote(text, i + 1);
      if (end < 0) return undefined;
      const inner = expand(text.slice(i + 1, end), vars, true);
      if (inner === undefined) return undefined;
      out += inner;
      i = end + 1;
    } else if (/[\s;#]/.test(c)) {
      break;
    } else {
      let j = i;
      while (j < text.length && !/[\s;#'"]/.test(text[j]!)) j++;
      const bare = expand(text.slice(i, j), vars, false);
      if (bare === undefined) return undefined;
      out += bare;
      i = j;
    }
  }
  return out;
}

function findClosingDoubleQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function expand(text: string, vars: EucarcVariables, quoted: boolean): string | undefined {
  if (text.includes('$(') || text.includes('`')) return undefined;
  const unescaped = (s: string): string => (quoted ? s.replace(/\\([\\"$`])/g, '$1') : s.replace(/\\(.)/g, '$1'));
  let out = '';
  let last = 0;
  const ref = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  for (let m = ref.exec(text); m; m = ref.exec(text)) {
    if (m.index > 0 && text[m.index - 1] === '\\') continue;
    out += unescaped(text.slice(last, m.index)) + (vars[m[1] ?? m[2]!] ?? '');
    last = m.index + m[0].length;
  }
  return out + unescaped(text.slice(last));
}
