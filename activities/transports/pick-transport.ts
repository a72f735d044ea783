import { urlNotAllowed } from './transfer-errors.js';
import type { Transport } from './transport.js';

/** The transport that fetches `url`, or a non-retryable failure naming the URL. */
export function pickTransport(transports: readonly Transport[], url: string): Transport {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw urlNotAllowed(`not a URL: ${url}`);
  }
  const transport = transports.find((t) => t.handles(parsed));
  if (!transport) {
    throw urlNotAllowed(`${url}: no transport for ${parsed.protocol} URLs on this worker (have: ${transports.map((t) => t.name).join(', ')})`);
  }
  return transport;
}
