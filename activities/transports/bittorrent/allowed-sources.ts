/**
 * Which trackers and web seeds (BEP 19 `url-list`) of a torrent may be contacted, by the site's
 * rules. Pure. A rule is a host name or `*.suffix`; no rule list allows every host.
 */
import { hostAllowed } from '../../network/outbound-policy.js';

export interface SourceRules {
  /** Tracker host rules (`bittorrent.allowedTrackers`). */
  trackers: readonly string[] | undefined;
  /** Announce URLs added to every torrent (`bittorrent.extraTrackers`); always kept. */
  extraTrackers: readonly string[];
  /** Web seed host rules: the HTTP transport's (`http.allowedHosts`). */
  webSeeds: readonly string[] | undefined;
}

export interface AllowedSources {
  announce: string[];
  urlList: string[];
  /** What was dropped and why, for the log. */
  dropped: string[];
}

export function allowedSources(announce: readonly string[], urlList: readonly string[], rules: SourceRules): AllowedSources {
  const dropped: string[] = [];
  const keep = (url: string, allowed: readonly string[] | undefined, protocols: readonly string[], what: string): boolean => {
    let host: string;
    let protocol: string;
    try {
      ({ hostname: host, protocol } = new URL(url));
    } catch {
      dropped.push(`${what} ${url}: not a URL`);
      return false;
    }
    if (!protocols.includes(protocol)) {
      dropped.push(`${what} ${url}: ${protocol} is not used here`);
      return false;
    }
    if (!hostAllowed(host, allowed)) {
      dropped.push(`${what} ${url}: host not allowed`);
      return false;
    }
    return true;
  };
  // WebSocket trackers serve WebRTC peers only, which this build does not have.
  const trackers = announce.filter((u) => keep(u, rules.trackers, ['http:', 'https:', 'udp:'], 'tracker'));
  const seeds = urlList.filter((u) => keep(u, rules.webSeeds, ['http:', 'https:'], 'web seed'));
  return { announce: [...new Set([...trackers, ...rules.extraTrackers])], urlList: seeds, dropped };
}
