/**
 * The outbound policy (SSRF): URLs that arrive with requests may not reach loopback, link-local,
 * private, ULA, multicast or unspecified addresses unless `http.allowedNetworks` allows them;
 * checked on the address actually dialled (IP literals, and names through the socket's `lookup`,
 * here a seam mapping test names), on every redirect. Addresses outside loopback are never dialled:
 * they are refused before a socket opens.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidr, specialAddressKind } from '../../../activities/network/address-ranges.js';
import { hostAllowed } from '../../../activities/network/outbound-policy.js';
import { createHttpTransport } from '../../../activities/transports/http-transport.js';
import { urlForDisplay } from '../../../common/url-for-display.js';
import { HttpSchema } from '../../../config/config-schema.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { newTestDir } from '../../support/image-proxy-world.js';
import { ImageProxyError } from '../../../common/errors.js';

/** Test names and what they resolve to (no DNS, no /etc/hosts). */
const NAMES: Record<string, string> = { 'metadata.internal.test': '169.254.169.254', 'private.internal.test': '10.1.2.3', 'origin.test': '127.0.0.1' };
const fakeDns = ((hostname: string, options: { all?: boolean }, callback: (err: Error | null, found?: unknown) => void) => {
  const address = NAMES[hostname];
  if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  callback(null, options.all ? [{ address, family: 4 }] : address);
}) as unknown as LookupFunction;

async function failureOf(p: Promise<unknown>): Promise<ImageProxyError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ImageProxyError);
  return err as ImageProxyError;
}

describe('outbound policy on the HTTP transport', () => {
  let origin: HttpOrigin;
  let v6: Server;
  let v6Url: string;
  let dir: string;
  let n = 0;
  const transportAllowing = (allowedNetworks: string[]) => createHttpTransport({ config: HttpSchema.parse({ allowedNetworks, connectTimeoutMs: 2000 }), resolve: fakeDns });
  const dest = () => join(dir, `dest-${++n}`);

  beforeAll(async () => {
    origin = await new HttpOrigin().start();
    origin.addBuffer('/ok', 'hello');
    v6 = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => v6.listen(0, '::1', r));
    v6Url = `http://[::1]:${(v6.address() as AddressInfo).port}/ok`;
    dir = await newTestDir('outbound');
  });
  afterAll(async () => {
    await origin?.stop();
    v6?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['127.0.0.1 (loopback)', () => `${origin.baseUrl}/ok`, '127.0.0.1', 'a loopback address'],
    ['[::1] (loopback)', () => v6Url, '::1', 'a loopback address'],
    ['169.254.169.254 (link-local)', () => 'http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'a link-local address'],
    ['10.1.2.3 (private)', () => 'http://10.1.2.3:8080/image.xml', '10.1.2.3', 'a private address'],
    ['a name resolving to 10.1.2.3', () => 'http://private.internal.test/image.xml', '10.1.2.3', 'a private address'],
    ['a name resolving to 169.254.169.254', () => 'http://metadata.internal.test/latest', '169.254.169.254', 'a link-local address'],
    ['[fd00::1] (ULA)', () => 'http://[fd00::1]/x', 'fd00::1', 'a unique local (ULA) address'],
    ['0.0.0.0 (unspecified)', () => 'http://0.0.0.0/x', '0.0.0.0', 'an unspecified address'],
  ])('refuses %s by default, naming the URL, the address and the config key', async (_what, url, address, kind) => {
    const before = origin.log.length;
    const err = await failureOf(transportAllowing([]).fetchToFile({ url: url(), destPath: dest(), hashAlgorithm: 'sha1' }));
    expect(err.type).toBe('UrlNotAllowed');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(`${url()}: refused to connect to ${address} (${kind}); allow it with http.allowedNetworks in the config`);
    expect(origin.log.length).toBe(before); // nothing reached the origin
  });

  it.each([
    ['127.0.0.2 (loopback)', '/to-loopback', 'http://127.0.0.2:PORT/ok', '127.0.0.2'],
    ['169.254.169.254', '/to-metadata', 'http://169.254.169.254/latest/meta-data/iam', '169.254.169.254'],
    ['10.1.2.3', '/to-private', 'http://10.1.2.3/x', '10.1.2.3'],
    ['a name resolving to 10.1.2.3', '/to-private-name', 'http://private.internal.test/x', '10.1.2.3'],
    ['[::1]', '/to-v6', 'V6', '::1'],
  ])('refuses a redirect from an allowed origin to %s', async (_what, path, target, address) => {
    const location = target.replace('PORT', new URL(origin.baseUrl).port).replace('V6', v6Url);
    const url = origin.addRedirect(path, location);
    // Only the origin's own address is allowed: the first hop passes, the redirect does not.
    const err = await failureOf(transportAllowing(['127.0.0.1/32']).fetchToFile({ url, destPath: dest(), hashAlgorithm: 'sha1' }));
    expect(err.type).toBe('UrlNotAllowed');
    expect(err.message).toMatch(new RegExp(`refused to connect to ${address.replace(/\./g, '\\.')} .*http\\.allowedNetworks`));
    expect(origin.log.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('succeeds when allowed by CIDR: 127.0.0.0/8 for 127.0.0.1 and a name resolving there, ::1/128 for [::1]', async () => {
    const loop = transportAllowing(['127.0.0.0/8']);
    expect((await loop.fetchToFile({ url: `${origin.baseUrl}/ok`, destPath: dest(), hashAlgorithm: 'sha1' })).bytes).toBe(5);
    const byName = `http://origin.test:${new URL(origin.baseUrl).port}/ok`;
    expect((await loop.fetchToFile({ url: byName, destPath: dest(), hashAlgorithm: 'sha1' })).bytes).toBe(5);
    // 127.0.0.0/8 does not cover ::1.
    expect((await failureOf(loop.fetchToFile({ url: v6Url, destPath: dest(), hashAlgorithm: 'sha1' }))).message).toMatch(/refused to connect to ::1/);
    expect((await transportAllowing(['::1/128']).fetchToFile({ url: v6Url, destPath: dest(), hashAlgorithm: 'sha1' })).bytes).toBe(5);
    // 10.0.0.0/8 lets 10.1.2.3 past the policy (not dialled here: only the policy's verdict is checked).
    const err = await failureOf(transportAllowing(['127.0.0.0/8']).fetchToFile({ url: 'http://private.internal.test/x', destPath: dest(), hashAlgorithm: 'sha1' }));
    expect(err.message).toMatch(/refused to connect to 10\.1\.2\.3/);
  });

  it('refuses URLs with user-info, and too long URLs with a short error', async () => {
    const loop = transportAllowing(['127.0.0.0/8']);
    const withUser = await failureOf(loop.fetchToFile({ url: `http://user:secret@127.0.0.1:${new URL(origin.baseUrl).port}/ok`, destPath: dest(), hashAlgorithm: 'sha1' }));
    expect(withUser.type).toBe('UrlNotAllowed');
    expect(withUser.message).toMatch(/user name or password/);
    expect(withUser.message).not.toContain('secret');

    const long = `${origin.baseUrl}/ok?${'x'.repeat(100_000)}`;
    const tooLong = await failureOf(loop.fetchToFile({ url: long, destPath: dest(), hashAlgorithm: 'sha1' }));
    expect(tooLong.type).toBe('UrlNotAllowed');
    expect(tooLong.message.length).toBeLessThan(400);
    expect(tooLong.message).toMatch(/the URL is 1000\d\d characters, more than the 8192 allowed/);
  });

  it('errors show a long URL shortened with its query redacted, the real problem visible', async () => {
    const long = `${origin.baseUrl}/${'p'.repeat(5000)}?token=SECRET`;
    const err = await failureOf(transportAllowing(['127.0.0.0/8']).fetchToFile({ url: long, destPath: dest(), hashAlgorithm: 'sha1' }));
    expect(err.message).toMatch(/HTTP 404/);
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).not.toContain('SECRET');
  });
});

describe('outbound policy rules', () => {
  it('classifies special addresses; public ones pass', () => {
    expect(specialAddressKind('127.0.0.1')).toBe('a loopback address');
    expect(specialAddressKind('::ffff:127.0.0.1')).toBe('a loopback address');
    expect(specialAddressKind('169.254.169.254')).toBe('a link-local address');
    expect(specialAddressKind('192.168.1.1')).toBe('a private address');
    expect(specialAddressKind('172.31.0.1')).toBe('a private address');
    expect(specialAddressKind('fe80::1')).toBe('a link-local address');
    expect(specialAddressKind('ff02::1')).toBe('a multicast address');
    expect(specialAddressKind('239.1.1.1')).toBe('a multicast address');
    expect(specialAddressKind('::')).toBe('an unspecified address');
    expect(specialAddressKind('8.8.8.8')).toBeUndefined();
    expect(specialAddressKind('2001:4860:4860::8888')).toBeUndefined();
    expect(specialAddressKind('172.32.0.1')).toBeUndefined();
  });
  it('parses CIDRs and refuses what is not one', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length must be 0 to 32/);
    expect(() => parseCidr('intranet')).toThrow(/not a CIDR/);
    expect(() => HttpSchema.parse({ allowedNetworks: ['10/8'] })).toThrow(/not a CIDR/);
  });
  it('hostAllowed matches exact names and *.suffix, case-insensitively; no list allows all', () => {
    expect(hostAllowed('images.example.org', undefined)).toBe(true);
    expect(hostAllowed('Images.Example.org', ['images.example.org'])).toBe(true);
    expect(hostAllowed('a.renci.org', ['*.renci.org'])).toBe(true);
    expect(hostAllowed('renci.org', ['*.renci.org'])).toBe(false);
    expect(hostAllowed('evilrenci.org', ['*.renci.org'])).toBe(false);
    expect(hostAllowed('example.org.evil.com', ['example.org'])).toBe(false);
    expect(hostAllowed('anything', [])).toBe(false);
  });
  it('urlForDisplay redacts the query and user-info and shortens', () => {
    expect(urlForDisplay('https://u:p@h.example/a?sig=1#f')).toBe('https://h.example/a?<redacted>');
    const shown = urlForDisplay(`https://h.example/${'a'.repeat(1000)}`);
    expect(shown.length).toBeLessThanOrEqual(200);
    expect(shown).toMatch(/…\(1018 chars\)$/);
  });
});
