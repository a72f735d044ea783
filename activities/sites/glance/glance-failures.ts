/**
 * How a Glance or Keystone answer becomes a failure the workflow can act on: a stable `type` from
 * common/errors.ts, the site's name, what was asked, and never a credential (request bodies and
 * tokens are not quoted; answers are cut short and scrubbed of anything like a token).
 */
import { ErrorType, ImageProxyError } from '../../../common/errors.js';

/** A refusal no retry can fix (bad credentials, a refused image). */
export function siteRejected(site: string, message: string): ImageProxyError {
  return new ImageProxyError({ type: ErrorType.SiteRejected, nonRetryable: true, message: `glance site ${site}: ${message}` });
}

/** A fault that may pass (service down, 5xx, a stalled status). */
export function siteUnavailable(site: string, message: string): ImageProxyError {
  return new ImageProxyError({ type: ErrorType.SiteUnavailable, nonRetryable: false, message: `glance site ${site}: ${message}` });
}

/** An HTTP answer that is not a success, as a failure: 4xx (but 408/409/429) rejected, the rest retried. */
export function httpFailure(site: string, what: string, status: number, body: string): ImageProxyError {
  const text = `${what} answered ${status}${body ? `: ${shortText(body)}` : ''}`;
  const mayPass = status >= 500 || status === 408 || status === 409 || status === 429;
  return mayPass ? siteUnavailable(site, text) : siteRejected(site, text);
}

/** A request that got no answer (refused, reset, DNS), as a retryable failure naming the cause. */
export function unreachable(site: string, what: string, err: unknown): ImageProxyError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return siteUnavailable(site, `${what} could not be reached (${reason})`);
}

/** First line-ish of an error body, HTML tags dropped, anything token-like masked. */
export function shortText(body: string): string {
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/[A-Za-z0-9_-]{40,}/g, '…')
    .trim()
    .slice(0, 300);
}
