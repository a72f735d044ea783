/**
 * A pino JSON line as a person reads it: `12:04:31 INFO  cloud-a 517ed2b0 registered  ids={…}`.
 * The site and the GUID's short form come first so the lines of one run line up. Pure.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, or that are shown in their own column. */
const SHOWN_APART = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'site', 'guid']);

export function humanLogLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 19) : '';
  const level = (LEVELS[record.level as number] ?? String(record.level)).padEnd(5);
  const site = typeof record.site === 'string' ? record.site : '-';
  const guid = typeof record.guid === 'string' ? record.guid.slice(0, 8) : '-';
  const rest = Object.entries(record)
    .filter(([k]) => !SHOWN_APART.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const msg = typeof record.msg === 'string' ? record.msg : '';
  return `${[time, level, site, guid, msg, ...rest].filter((s) => s !== '').join(' ')}\n`;
}
