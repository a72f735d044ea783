/**
 * Options of an `xcat` site, as written in the config file, validated when the config is read and
 * again, with the site's name on every error, when its worker starts. The passphrase of the key is
 * never echoed: errors name fields, not values.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { NAME_RULE } from './remote-values.js';

const name = z.string().regex(NAME_RULE, 'letters, digits, ".", "_" and "-", starting with a letter or digit');
const absolute = z
  .string()
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'an absolute path without ".."');

export const XcatCommandsSchema = z
  .object({
    lsdef: absolute.default('/opt/xcat/bin/lsdef'),
    mkdef: absolute.default('/opt/xcat/bin/mkdef'),
    chdef: absolute.default('/opt/xcat/bin/chdef'),
    rmdef: absolute.default('/opt/xcat/bin/rmdef'),
    imgimport: absolute.default('/opt/xcat/bin/imgimport'),
    packimage: absolute.default('/opt/xcat/sbin/packimage'),
    nodeset: absolute.default('/opt/xcat/sbin/nodeset'),
  })
  .strict();

export const XcatSiteSchema = z
  .object({
    type: z.literal('xcat'),
    /** Management node host name or address. */
    host: z.string().min(1),
    /** @default 22 */
    port: z.number().int().min(1).max(65535).default(22),
    /** SSH user. */
    user: z.string().regex(/^[A-Za-z0-9._][A-Za-z0-9._-]*$/, 'a user name'),
    /** Private key file (OpenSSH or PEM); relative paths start at the config file's directory. */
    privateKeyPath: z.string().min(1),
    /**
     * File holding the private key's passphrase, if it has one (one line; trailing newline ignored);
     * relative paths start at the config file's directory. Secrets are never inline in the config.
     */
    privateKeyPassphraseFile: z.string().min(1).optional(),
    /** Refused (config files get copied and shown): only here to say where the passphrase goes instead. */
    passphrase: z
      .never({ errorMap: () => ({ message: 'an inline passphrase is refused; put it in a file and name that file in privateKeyPassphraseFile' }) })
      .optional(),
    /**
     * The management node's host key, pinned: an OpenSSH fingerprint `SHA256:<base64>` or a
     * known_hosts line (`host key-type base64`). Any other key is refused before authenticating.
     */
    hostKey: z
      .string()
      .min(1)
      .refine((k) => /^SHA256:[A-Za-z0-9+/]{43}=?$/.test(k.trim()) || /^\S+\s+\S+\s+[A-Za-z0-9+/]+=*(\s.*)?$/.test(k.trim()), {
        message: 'an OpenSSH "SHA256:…" fingerprint or a known_hosts line',
      }),
    /** Run commands as root through `sudo -n` (the SSH user uploads; root defines). @default false */
    sudo: z.boolean().default(false),
    commands: XcatCommandsSchema.default({}),
    /** xCAT's install directory (site.installdir). @default "/install" */
    installRoot: absolute.default('/install'),
    /** Defaults of the netboot osimage. */
    osvers: name.default('linux'),
    /** @default "x86_64" */
    osarch: name.default('x86_64'),
    /** The profile is `<profilePrefix>-<guid>`. @default "imageproxy" */
    profilePrefix: name.default('imageproxy'),
    /** Nodes to `nodeset` to each new osimage. @default none */
    provisionNodes: z.array(name).default([]),
    /** Cap on the upload rate, bytes per second (shared links). @default unlimited */
    uploadBytesPerSecond: z.number().int().positive().optional(),
    /** @default 20000 */
    connectTimeoutMs: z.number().int().positive().default(20_000),
  })
  .strict();

export type XcatSiteConfig = z.infer<typeof XcatSiteSchema>;

export class XcatOptionsError extends Error {
  override readonly name = 'XcatOptionsError';
}

/** Validate `raw` for site `site`; every problem is named with the site and the field. */
export function parseXcatSiteOptions(site: string, raw: unknown): XcatSiteConfig {
  const parsed = XcatSiteSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new XcatOptionsError(`xcat site ${site}: ${problems.join('; ')}`);
  }
  return { ...parsed.data, installRoot: posix.normalize(parsed.data.installRoot).replace(/(.)\/+$/, '$1') };
}
