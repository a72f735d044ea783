/**
 * The configuration file: which sites this installation serves and how it downloads.
 * `{"sites": {"<name>": {"type": "local" | "eucalyptus" | "xcat" | "glance", …}}}`. Validated once, at start.
 */
import { z } from 'zod';
import { EucalyptusSiteSchema } from '../activities/sites/eucalyptus/eucalyptus-site-options.js';
import { GlanceSiteSchema, glanceConfigProblems } from '../activities/sites/glance/glance-site-options.js';
import { XcatSiteSchema } from '../activities/sites/xcat/xcat-site-options.js';
import { parseCidr } from '../activities/network/address-ranges.js';
import { DEFAULT_RETRY_FOR } from '../common/retry-policies.js';
import { parseByteSize } from './byte-size.js';
import { parseDuration } from './duration.js';

const siteNameRule = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const LocalSiteSchema = z
  .object({
    type: z.literal('local'),
    /** Directory the images are published into. @default `<data>/sites/<site name>` */
    dir: z.string().min(1).optional(),
  })
  .strict();

// The cloud backends define their own options (activities/sites/*) and resolve their credentials
// when their worker starts.
export { EucalyptusSiteSchema, GlanceSiteSchema, XcatSiteSchema };

export const SiteSchema = z.discriminatedUnion('type', [LocalSiteSchema, EucalyptusSiteSchema, XcatSiteSchema, GlanceSiteSchema]);

export const HttpSchema = z
  .object({
    /** If set, only these origin host names (or `*.suffix`) may be fetched from. */
    allowedHosts: z.array(z.string().min(1)).optional(),
    /**
     * Networks (CIDRs) of loopback, link-local, private, ULA, multicast or unspecified addresses
     * that URLs arriving with requests may reach; all others of those are refused (SSRF). Public
     * addresses need no entry. Site endpoints in `sites` are not affected. @default []
     */
    allowedNetworks: z
      .array(
        z.string().superRefine((cidr, ctx) => {
          try {
            parseCidr(cidr);
          } catch (err) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
          }
        }),
      )
      .default([]),
    /** @default 30000 */
    connectTimeoutMs: z.number().int().positive().default(30_000),
    /** Time without a byte before a transfer counts as stalled. @default 60000 */
    idleTimeoutMs: z.number().int().positive().default(60_000),
    /** @default 5 */
    maxRedirects: z.number().int().min(0).max(20).default(5),
  })
  .strict();

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 as 64 lowercase hex digits');

/** What a JSON API token may do: `register` (POST), `status` (GET), `deregister` (DELETE). */
export const FrontOperationSchema = z.enum(['register', 'status', 'deregister']);

const LimitedBearerTokenSchema = z
  .object({
    /** File of tokens with these rights, one a line (blank lines and `#` comments ignored). Relative to the config file. */
    tokenFile: z.string().min(1).optional(),
    /** SHA-256 digest (hex) of the token. */
    tokenSha256: sha256Hex.optional(),
    /** Site names, or `"*"` for every site. */
    sites: z.array(z.string().min(1)).min(1),
    operations: z.array(FrontOperationSchema).min(1),
  })
  .strict()
  .refine((t) => (t.tokenFile === undefined) !== (t.tokenSha256 === undefined), 'give exactly one of tokenFile, tokenSha256');

/**
 * Who may call the HTTP front (SOAP and JSON). Secrets are kept in files or as SHA-256 digests,
 * never in the clear here, and are never logged.
 */
export const HttpFrontSchema = z
  .object({
    /** HTTP Basic (ORCA's Axis2 client can send it). */
    basicAuth: z
      .object({
        user: z.string().min(1).regex(/^[^:]+$/, 'a Basic user name cannot contain ":"'),
        /** File holding the password (one line; trailing newline ignored). Relative to the config file. */
        passwordFile: z.string().min(1).optional(),
        /** SHA-256 of the password, hex (`printf %s PASSWORD | sha256sum`). */
        passwordSha256: sha256Hex.optional(),
      })
      .strict()
      .refine((b) => (b.passwordFile === undefined) !== (b.passwordSha256 === undefined), 'give exactly one of passwordFile, passwordSha256')
      .optional(),
    /** File of bearer tokens, one a line (blank lines and `#` comments ignored). Relative to the config file. */
    bearerTokenFile: z.string().min(1).optional(),
    /** SHA-256 digests (hex) of accepted bearer tokens. */
    bearerTokenSha256: z.array(sha256Hex).optional(),
    /**
     * Bearer tokens limited to some sites and operations of the JSON API (the tokens above may do
     * everything). A limited token may use SOAP only at a site where it holds every operation.
     */
    bearerTokens: z.array(LimitedBearerTokenSchema).optional(),
  })
  .strict();

/** Host names, or `*.suffix` for every host under a domain. */
const HostRulesSchema = z.array(z.string().min(1));

/** Seeding after a download: the torrent keeps serving other sites until either limit is reached. */
export const SeedingSchema = z
  .object({
    /** Stop seeding a torrent this long after its download finished. 0 = do not seed. @default 3600 */
    maxSeconds: z.number().min(0).default(3600),
    /** Stop seeding once this many times the torrent's size was uploaded. 0 = do not seed. @default 2 */
    maxRatio: z.number().min(0).default(2),
  })
  .strict();

/** Web seeds (BEP 19, usually the image's origin) as a fallback for peers; see web-seed-fallback.ts. */
export const WebSeedSchema = z
  .object({
    /**
     * Peers get this head start, and web seeds are added when peers deliver less than
     * `peerFloorBytesPerSecond` over this long. 0 = web seeds always used beside peers. @default 3000
     */
    fallbackAfterMs: z.number().int().min(0).default(3000),
    /** Peers delivering at least this many bytes per second are enough: the web seeds are dropped. @default 1048576 */
    peerFloorBytesPerSecond: z.number().int().min(0).default(1 << 20),
  })
  .strict();

/** The BitTorrent transport (`.torrent` URLs and `magnet:` links). One client per worker process. */
export const BittorrentSchema = z
  .object({
    /** Trackers (announce URL host names or `*.suffix`) that may be contacted; others in a torrent are dropped. Absent: all. */
    allowedTrackers: HostRulesSchema.optional(),
    /** Announce URLs added to every torrent (a site's own tracker). @default [] */
    extraTrackers: z.array(z.string().url()).default([]),
    /** Find peers through the public mainline DHT (peers anywhere, outside the outbound policy). @default false */
    dht: z.boolean().default(false),
    /** Local Service Discovery (multicast on the LAN). @default false */
    lsd: z.boolean().default(false),
    /** Peer exchange with connected peers (ut_pex). @default true */
    pex: z.boolean().default(true),
    /**
     * Also speak uTP. Off by default: webtorrent tries uTP first for every IPv4 peer and falls back
     * to TCP only after the uTP connect times out (~40 s against TCP-only peers such as aria2c).
     * @default false
     */
    utp: z.boolean().default(false),
    /** TCP port peers connect to. 0 = a free port chosen at start. @default 0 */
    listenPort: z.number().int().min(0).max(65535).default(0),
    /** Address the peer port is bound to. @default all interfaces */
    listenAddress: z.string().ip().optional(),
    seeding: SeedingSchema.default({}),
    webSeeds: WebSeedSchema.default({}),
    /** Time without a newly verified piece before an attempt fails (and is retried). @default 300000 */
    stallTimeoutMs: z.number().int().positive().default(300_000),
    /** Largest `.torrent` file fetched. @default 10485760 */
    maxTorrentFileBytes: z.number().int().positive().default(10 << 20),
  })
  .strict();

/** A byte size: a number of bytes or a string such as "20GiB" (see byte-size.ts). */
const ByteSizeSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (typeof bytes === 'number') return bytes;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: bytes.error });
  return z.NEVER;
});

/** A duration: milliseconds or a string such as "1d", "6h" (see duration.ts). */
const DurationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (typeof ms === 'number') return ms;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: ms.error });
  return z.NEVER;
});

/** The host's download cache (`<data>/cache`). */
export const CacheSchema = z
  .object({
    /** Disk quota of the cache, downloads in progress included. @default no quota */
    maxBytes: ByteSizeSchema.optional(),
    /**
     * How long a download that does not fit (everything evictable is held by running
     * registrations) keeps retrying before its run fails with "insufficient cache space". @default 60000
     */
    spaceWaitMs: z.number().int().min(0).default(60_000),
  })
  .strict();

/** The scheduled clean-up of cloud images (a Temporal Schedule per site). Absent: no schedule. */
export const GcSchema = z
  .object({
    /** Deregister images not requested for this many days (fractions allowed) and not in use. */
    olderThanDays: z.number().positive(),
    /** How often the clean-up runs, e.g. "1d". */
    every: DurationSchema,
  })
  .strict();

/** `HOST:PORT`, the host a name, an IPv4 address or a bracketed IPv6 address. */
const HostPortSchema = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT, e.g. 10.0.0.5:7010 or [::1]:7010');

/**
 * Fleet distribution (docs/fleet.md): this host serves the parts in its cache to the other hosts of
 * the deployment, and fetches parts from them. Every peer request carries the shared token.
 */
export const PeerSchema = z
  .object({
    /** Address the peer endpoint listens on. Absent: this host only fetches from peers, serves none. */
    listen: HostPortSchema.optional(),
    /** Address the other hosts dial to reach `listen` (NAT, a public name). @default listen */
    advertise: HostPortSchema.optional(),
    /** File holding the deployment's shared peer token (one line, at least 16 characters). Relative to the config file. */
    tokenFile: z.string().min(1),
    /** A peer that does not accept a connection within this is dropped for the part. @default 5000 */
    connectTimeoutMs: z.number().int().positive().default(5000),
    /** No new piece from any peer for this long: the rest comes from the origin. @default 30000 */
    stallTimeoutMs: z.number().int().positive().default(30_000),
  })
  .strict()
  .refine((p) => p.advertise === undefined || p.listen !== undefined, { message: 'advertise needs listen', path: ['advertise'] });

export const ConfigSchema = z
  .object({
    sites: z
      .record(z.string().regex(siteNameRule, 'site names are letters, digits, ".", "_" and "-"'), SiteSchema)
      .refine((s) => Object.keys(s).length > 0, 'at least one site is needed'),
    /** Site used when a request names none. @default the first site */
    defaultSite: z.string().optional(),
    http: HttpSchema.default({}),
    /**
     * How long a fault that may get better (network, site, origin 5xx) is retried before the run
     * fails with the last error: a duration such as "6h", "2m". @default "6h"
     */
    retryFor: DurationSchema.default(DEFAULT_RETRY_FOR),
    /** Authentication of the HTTP front (`imageproxy serve`, `imageproxy dev`). @default none: loopback only */
    httpFront: HttpFrontSchema.default({}),
    bittorrent: BittorrentSchema.default({}),
    cache: CacheSchema.default({}),
    gc: GcSchema.optional(),
    /**
     * Fleet distribution between the hosts of this deployment. Absent: this host serves none and fetches
     * from peers only if `peer-token` lies beside the config file, else from the origin only (docs/fleet.md).
     */
    peer: PeerSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.defaultSite !== undefined && !(c.defaultSite in c.sites)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['defaultSite'], message: `no site named ${c.defaultSite}` });
    }
    (c.httpFront.bearerTokens ?? []).forEach((token, i) => {
      for (const site of token.sites) {
        if (site !== '*' && !(site in c.sites)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['httpFront', 'bearerTokens', i, 'sites'], message: `no site named ${site}` });
        }
      }
    });
    for (const [name, site] of Object.entries(c.sites)) {
      if (site.type !== 'glance') continue;
      for (const p of glanceConfigProblems(site)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sites', name, ...p.path], message: p.message });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type SiteConfig = z.infer<typeof SiteSchema>;
export type LocalSiteConfig = z.infer<typeof LocalSiteSchema>;
export type HttpConfig = z.infer<typeof HttpSchema>;
export type HttpFrontConfig = z.infer<typeof HttpFrontSchema>;
export type FrontOperation = z.infer<typeof FrontOperationSchema>;
export type BittorrentConfig = z.infer<typeof BittorrentSchema>;
export type CacheConfig = z.infer<typeof CacheSchema>;
export type GcConfig = z.infer<typeof GcSchema>;
export type PeerConfig = z.infer<typeof PeerSchema>;
