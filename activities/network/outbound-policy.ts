/**
 * The outbound network policy for URLs that arrive with requests and metadata (metadata files,
 * parts, their redirects, web seeds and trackers): one place, used by the HTTP and BitTorrent
 * transports. Endpoints an operator configured for a site (S3, EC2, Glance, Keystone, the xCAT host)
 * do not pass through here and are dialled as configured.
 *
 * A URL is refused when it carries user-info, is longer than `MAX_URL_CHARS`, names a host outside
 * `http.allowedHosts` (when set), or when the address actually dialled (an IP literal, or each
 * address DNS answers, checked in the socket's own `lookup` so the check and the connect see the
 * same address) is loopback, link-local, private, ULA, multicast or unspecified and not inside
 * `http.allowedNetworks`.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { MAX_URL_CHARS, urlForDisplay } from '../../common/url-for-display.js';
import { urlNotAllowed } from '../transports/transfer-errors.js';
import { networkMatcher, specialAddressKind } from './address-ranges.js';


export interface OutboundPolicyOptions {
  /** `http.allowedHosts`: host names or `*.suffix`; absent allows every host name. */
  allowedHosts?: readonly string[] | undefined;
  /** `http.allowedNetworks`: CIDRs of special addresses that may be dialled. */
  allowedNetworks?: readonly string[] | undefined;
  /** Name resolution (a seam for tests); default `dns.lookup`. */
  resolve?: LookupFunction;
}

export interface OutboundPolicy {
  /** Throws a non-retryable UrlNotAllowed if `url` may not be requested at all. */
  checkUrl(url: URL): void;
  /** Throws a non-retryable UrlNotAllowed if `address` (dialled for `url`) is refused. */
  checkAddress(url: URL, address: string): void;
  /** A socket `lookup` for `url` that resolves only to allowed addresses (refusing otherwise). */
  lookupFor(url: URL): LookupFunction;
  /** Resolve `url`'s host and check every address (for sources a library dials itself). */
  checkResolved(url: URL): Promise<void>;
}

/** Whether `host` matches the allowlist (exact names, or `*.suffix`). No list allows every host. */
export function hostAllowed(host: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((a) => {
    const rule = a.toLowerCase();
    return rule.startsWith('*.') ? h.endsWith(rule.slice(1)) && h.length > rule.length - 1 : h === rule;
  });
}

/** `[::1]` → `::1`: URL host names keep IPv6 literals in brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export function createOutboundPolicy(options: OutboundPolicyOptions): OutboundPolicy {
  const allowedNetwork = networkMatcher(options.allowedNetworks ?? []);
  const resolve: LookupFunction = options.resolve ?? (dnsLookup as LookupFunction);

  function refusal(url: URL, address: string): Error | undefined {
    const kind = specialAddressKind(address);
    if (kind === undefined || allowedNetwork(address)) return undefined;
    return urlNotAllowed(
      `${urlForDisplay(url.href)}: refused to connect to ${address} (${kind}); allow it with http.allowedNetworks in the config`,
    );
  }

  const policy: OutboundPolicy = {
    checkUrl(url) {
      if (url.href.length > MAX_URL_CHARS) {
        throw urlNotAllowed(`${urlForDisplay(url.href)}: the URL is ${url.href.length} characters, more than the ${MAX_URL_CHARS} allowed`);
      }
      if (url.username !== '' || url.password !== '') {
        throw urlNotAllowed(`${urlForDisplay(url.href)}: URLs with a user name or password are not fetched (credentials would travel in requests and logs)`);
      }
      if (!hostAllowed(url.hostname, options.allowedHosts)) {
        throw urlNotAllowed(`${urlForDisplay(url.href)}: host ${url.hostname} is not in http.allowedHosts`);
      }
      const host = bareHost(url);
      if (isIP(host) !== 0) {
        const refused = refusal(url, host);
        if (refused) throw refused;
      }
    },
    checkAddress(url, address) {
      const refused = refusal(url, address);
      if (refused) throw refused;
    },
    lookupFor(url) {
      return ((hostname: string, opts: LookupOneOptions | LookupAllOptions, callback: (...args: unknown[]) => void) => {
        resolve(hostname, { ...opts, all: true }, (err, found) => {
          if (err) return callback(err);
          const all = (Array.isArray(found) ? found : [{ address: found, family: 4 }]) as LookupAddress[];
          const allowed = all.filter((a) => !refusal(url, a.address));
          if (allowed.length === 0) return callback(refusal(url, all[0]?.address ?? '0.0.0.0'));
          if ((opts as LookupAllOptions).all) return callback(null, allowed);
          return callback(null, allowed[0]!.address, allowed[0]!.family);
        });
      }) as LookupFunction;
    },
    async checkResolved(url) {
      policy.checkUrl(url);
      const host = bareHost(url);
      if (isIP(host) !== 0) return;
      await new Promise<void>((resolved, rejected) => {
        policy.lookupFor(url)(host, { all: true }, (err) => (err ? rejected(err) : resolved()));
      });
    },
  };
  return policy;
}
