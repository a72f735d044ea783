/**
 * The configuration file: which sites this installation serves and how it downloads.
 * `{"sites": {"<name>": {"type": "local" | "eucalyptus" | "xcat", …}}}`. Validated once, at start.
 */
import { z } from 'zod';

const siteNameRule = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const LocalSiteSchema = z
  .object({
    type: z.literal('local'),
    /** Directory the images are published into. @default `<data>/sites/<site name>` */
    dir: z.string().min(1).optional(),
  })
  .strict();

// The cloud backends validate their own options when their worker starts (see activities/sites/*).
export const EucalyptusSiteSchema = z.object({ type: z.literal('eucalyptus') }).passthrough();
export const XcatSiteSchema = z.object({ type: z.literal('xcat') }).passthrough();

export const SiteSchema = z.discriminatedUnion('type', [LocalSiteSchema, EucalyptusSiteSchema, XcatSiteSchema]);

export const HttpSchema = z
  .object({
    /** If set, only these origin host names (or `*.suffix`) may be fetched from. */
    allowedHosts: z.array(z.string().min(1)).optional(),
    /** @default 30000 */
    connectTimeoutMs: z.number().int().positive().default(30_000),
    /** Time without a byte before a transfer counts as stalled. @default 60000 */
    idleTimeoutMs: z.number().int().positive().default(60_000),
    /** @default 5 */
    maxRedirects: z.number().int().min(0).max(20).default(5),
  })
  .strict();

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 as 64 lowercase hex digits');

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
  })
  .strict();

export const ConfigSchema = z
  .object({
    sites: z
      .record(z.string().regex(siteNameRule, 'site names are letters, digits, ".", "_" and "-"'), SiteSchema)
      .refine((s) => Object.keys(s).length > 0, 'at least one site is needed'),
    /** Site used when a request names none. @default the first site */
    defaultSite: z.string().optional(),
    http: HttpSchema.default({}),
    /** Authentication of the HTTP front (`imageproxy serve`, `imageproxy dev`). @default none: loopback only */
    httpFront: HttpFrontSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.defaultSite !== undefined && !(c.defaultSite in c.sites)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['defaultSite'], message: `no site named ${c.defaultSite}` });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type SiteConfig = z.infer<typeof SiteSchema>;
export type LocalSiteConfig = z.infer<typeof LocalSiteSchema>;
export type HttpConfig = z.infer<typeof HttpSchema>;
export type HttpFrontConfig = z.infer<typeof HttpFrontSchema>;
