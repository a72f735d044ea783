/**
 * How a torrent's web seed (BEP 19) fetches a byte range: webtorrent's web seed connection (patched,
 * lib/webconn.js) asks the torrent's `webSeedRequest`. Ours goes through the outbound policy at the
 * moment it connects: the name is resolved and every address checked by the same lookup that dials,
 * so a name that resolved to an allowed address when the torrent was added cannot be made to point
 * elsewhere afterwards (DNS rebinding). Redirects are not followed (webconn refuses any 3xx).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { OutboundPolicy } from '../../network/outbound-policy.js';

export interface WebSeedRange {
  /** First and last byte, inclusive (an HTTP Range). */
  start: number;
  end: number;
  signal: AbortSignal;
  userAgent: string;
}

export interface WebSeedResponse {
  status: number;
  body: AsyncIterable<Uint8Array>;
  /** Drop the body unread (an answer that is not the range). */
  discard(): void;
}

export type WebSeedRequest = (url: string, range: WebSeedRange) => Promise<WebSeedResponse>;

/**
 * A `WebSeedRequest` held to `policy`. Connections are kept alive between pieces (one TLS
 * handshake per connection, not per piece); each new one is checked as it is dialled.
 */
export function webSeedRequester(policy: OutboundPolicy): WebSeedRequest {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  return async (href, range) => {
    const url = new URL(href);
    policy.checkUrl(url);
    const https = url.protocol === 'https:';
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        {
          agent: https ? agents.https : agents.http,
          lookup: policy.lookupFor(url),
          signal: range.signal,
          headers: { range: `bytes=${range.start}-${range.end}`, 'user-agent': range.userAgent, 'cache-control': 'no-store' },
        },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    return { status: response.statusCode ?? 0, body: response, discard: () => response.destroy() };
  };
}
