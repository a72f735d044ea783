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

export const ConfigSchema = z
  .object({
    sites: z
      .record(z.string().regex(siteNameRule, 'site names are letters, digits, ".", "_" and "-"'), SiteSchema)
      .refine((s) => Object.keys(s).length > 0, 'at least one site is needed'),
    /** Site used when a request names none. @default the first site */
    defaultSite: z.string().optional(),
    http: HttpSchema.default({}),
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
