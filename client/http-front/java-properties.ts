/**
 * Java's `Properties` text format, as `Properties.store(out, null)` writes it and
 * `Properties.load` reads it. ORCA parses our answer with `Properties.load`, so the writer follows
 * the JDK's `saveConvert` rules exactly; the reader is for tests and tools.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Date.toString()` of Java in UTC: `Tue Nov 24 14:02:43 UTC 2026`. */
export function javaDateString(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${two(date.getUTCDate())} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC ${date.getUTCFullYear()}`
  );
}

/**
 * Escape a key or value as `Properties.store` does: `\` `\t` `\n` `\r` `\f` as backslash escapes;
 * `=` `:` `#` `!` behind a backslash; every space in a key but only a leading space in a value;
 * anything outside printable ASCII as `\uXXXX` (UTF-16 units, uppercase hex).
 */
export function escapeProperty(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const code = text.charCodeAt(i);
    switch (c) {
      case ' ':
        out += i === 0 || isKey ? '\\ ' : ' ';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\f':
        out += '\\f';
        break;
      case '=':
      case ':':
      case '#':
      case '!':
        out += `\\${c}`;
        break;
      default:
        out += code < 0x20 || code > 0x7e ? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}` : c;
    }
  }
  return out;
}

/** The text `Properties.store(out, null)` writes: `#<date>` then one `key=value` line per entry. */
export function storeProperties(entries: Record<string, string>, date: Date = new Date()): string {
  const lines = [`#${javaDateString(date)}`];
  for (const [key, value] of Object.entries(entries)) lines.push(`${escapeProperty(key, true)}=${escapeProperty(value, false)}`);
  return `${lines.join('\n')}\n`;
}

/** Read Properties text as `Properties.load` does (comments, continuations, separators, escapes). */
export function loadProperties(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const physical = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < physical.length; i++) {
    let line = physical[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the line; leading blanks of the next are dropped.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < physical.length) {
      line = line.slice(0, -1) + physical[++i]!.replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    let keyEnd = line.length;
    let valueStart = line.length;
    for (; k < line.length; k++) {
      const c = line[k]!;
      if (c === '\\') {
        k++;
        continue;
      }
      if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') {
        keyEnd = k;
        let v = k;
        while (v < line.length && /[ \t\f]/.test(line[v]!)) v++;
        if (v < line.length && (line[v] === '=' || line[v] === ':') && (c === ' ' || c === '\t' || c === '\f')) v++;
        else if (c === '=' || c === ':') v = k + 1;
        while (v < line.length && /[ \t\f]/.test(line[v]!)) v++;
        valueStart = v;
        break;
      }
    }
    result[unescapeProperty(line.slice(0, keyEnd))] = unescapeProperty(line.slice(valueStart));
  }
  return result;
}

function unescapeProperty(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const n = text[++i]!;
    if (n === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Error(`malformed \\uxxxx escape: \\u${hex}`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += n === 't' ? '\t' : n === 'n' ? '\n' : n === 'r' ? '\r' : n === 'f' ? '\f' : n;
  }
  return out;
}
