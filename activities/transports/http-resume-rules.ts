/**
 * Pure rules of resuming and classifying HTTP transfers: which validator may go into `If-Range`,
 * what a `Content-Range` says, and which statuses a retry may get past.
 */

/**
 * The validator to send in `If-Range` on a later attempt: a strong ETag, else Last-Modified.
 * Weak ETags (`W/"…"`) may not be used with If-Range (RFC 9110 §13.1.5). Undefined when the origin
 * gave neither; such a transfer is restarted from zero, never stitched blindly.
 */
export function ifRangeValidatorOf(headers: { etag?: string | undefined; 'last-modified'?: string | undefined }): string | undefined {
  const etag = headers.etag?.trim();
  if (etag && !etag.startsWith('W/') && /^"[^"]*"$/.test(etag)) return etag;
  const lastModified = headers['last-modified']?.trim();
  return lastModified || undefined;
}

export interface ContentRange {
  start: number;
  end: number;
  /** Complete size, when the origin says it (`*` otherwise). */
  total?: number;
}

/** Parse `bytes START-END/TOTAL` (or the unsatisfied form of a 416, as `{start: NaN…}`); undefined when malformed. */
export function parseContentRange(header: string | undefined): ContentRange | undefined {
  if (!header) return undefined;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return undefined;
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return { start: NaN, end: NaN, ...(total !== undefined ? { total } : {}) };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return { start, end, ...(total !== undefined ? { total } : {}) };
}

export type StatusClass = 'ok' | 'redirect' | 'retry' | 'reject';

/** 2xx ok; 3xx follow; 408, 429 and 5xx (and anything unexpected) retry; other 4xx reject. */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 300 && status < 400) return 'redirect';
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return 'reject';
  return 'retry';
}
