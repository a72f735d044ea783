/**
 * URLs as they may be shown in errors, logs and the memo: the query string (which often carries a
 * signature or token) redacted, user-info dropped, and at most `max` characters, so a 100 KB URL
 * does not bury the real problem. Workflow-safe (string operations only).
 */
export const URL_DISPLAY_MAX = 200;

/** Longer URLs are refused (by the fronts and the transports): no image URL needs more. */
export const MAX_URL_CHARS = 8192;

export function urlForDisplay(url: string, max = URL_DISPLAY_MAX): string {
  let shown = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1');
  const query = shown.search(/[?#]/);
  if (query >= 0) shown = `${shown.slice(0, query)}${shown[query] === '?' ? '?<redacted>' : ''}`;
  if (shown.length <= max) return shown;
  const keep = max - 20;
  return `${shown.slice(0, keep)}…(${url.length} chars)`;
}
