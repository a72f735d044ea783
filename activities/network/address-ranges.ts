/**
 * Address ranges an outbound request from a URL that arrived with a request must not reach unless
 * the operator allows them: loopback, link-local (a cloud's metadata service at 169.254.169.254),
 * private, shared (CGNAT), ULA, multicast, unspecified and reserved addresses. Pure.
 */
import { BlockList, isIP } from 'node:net';

/** CIDRs refused by default, with what each is (for the refusal's message). */
const SPECIAL_RANGES: readonly (readonly [string, string])[] = [
  ['0.0.0.0/8', 'an unspecified address'],
  ['10.0.0.0/8', 'a private address'],
  ['100.64.0.0/10', 'a shared (CGNAT) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['172.16.0.0/12', 'a private address'],
  ['192.0.0.0/24', 'a reserved address'],
  ['192.168.0.0/16', 'a private address'],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['240.0.0.0/4', 'a reserved address'],
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['fc00::/7', 'a unique local (ULA) address'],
  ['fe80::/10', 'a link-local address'],
  ['ff00::/8', 'a multicast address'],
  ['64:ff9b::/96', 'a NAT64 address'],
];

export class CidrError extends Error {}

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `::1/128`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) throw new CidrError(`${text}: not a CIDR such as 10.0.0.0/8 or fd00::/8`);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) throw new CidrError(`${text}: the prefix length must be 0 to ${max}`);
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function listOf(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return list;
}

const special = SPECIAL_RANGES.map(([cidr, what]) => ({ list: listOf([parseCidr(cidr)]), what }));

/** What kind of special address `address` is, or undefined for an ordinary public one. */
export function specialAddressKind(address: string): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return special.find((s) => s.list.check(address, family))?.what;
}

/** A matcher for the operator's allowed networks (IPv4 rules also match IPv4-mapped IPv6). */
export function networkMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = listOf(cidrs.map(parseCidr));
  return (address) => isIP(address) !== 0 && list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}
