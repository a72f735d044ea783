/**
 * Options of a `eucalyptus` site: the config entry (validated with the rest of the config) and
 * the settings the worker resolves from it at start (the eucarc, its certificates and keys).
 * Errors name the site and the file or variable at fault, never a secret's value.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { eucarcPath, parseEucarc, type EucarcVariables } from './eucarc.js';

export const EUCALYPTUS_SITE_TYPE = 'eucalyptus';

/** Machine architectures Eucalyptus accepts in RegisterImage and the manifest. */
export const ARCHITECTURES = ['x86_64', 'i386', 'armhf', 'aarch64'] as const;

export const EucalyptusSiteSchema = z
  .object({
    type: z.literal(EUCALYPTUS_SITE_TYPE),
    /** Path of the eucarc as issued by the cloud (relative to the config file's directory). */
    eucarc: z.string().min(1),
    /** Bucket the bundles are uploaded to; created when missing. @default "imageproxy.bukkit" */
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'bucket names are 3-63 lowercase letters, digits, "." and "-"')
      .default('imageproxy.bukkit'),
    /** Architecture of every image registered at this site. @default "x86_64" */
    architecture: z.enum(ARCHITECTURES).default('x86_64'),
    /** Seconds a registration may take to become `available` before it is undone. @default 1800 */
    registrationTimeoutSeconds: z.number().int().min(0).default(1800),
    /** Signing region of the cloud's endpoints. @default "eucalyptus" */
    region: z.string().min(1).default('eucalyptus'),
    /** Compute (EC2) endpoint instead of the eucarc's `EC2_URL`. */
    ec2Url: z.string().url().optional(),
    /** Object storage (S3) endpoint instead of the eucarc's `S3_URL`. */
    s3Url: z.string().url().optional(),
    /**
     * An existing kernel (`eki-…`) to boot machine images with, instead of registering the image's
     * own KERNEL part (only cloud administrators may register kernels on Eucalyptus).
     */
    kernelId: z.string().min(1).optional(),
    /** An existing ramdisk (`eri-…`), as `kernelId`. */
    ramdiskId: z.string().min(1).optional(),
    /** Bundle parts uploaded at once (each is 10 MiB on disk until uploaded). @default 3 */
    partsInFlight: z.number().int().min(1).max(16).default(3),
    /** Seconds between polls of an image's state. @default 5 */
    pollIntervalSeconds: z.number().positive().default(5),
  })
  .strict();

export type EucalyptusSiteConfig = z.infer<typeof EucalyptusSiteSchema>;

/** Everything the backend needs, resolved and checked. Holds secrets: keep it on the worker. */
export interface EucalyptusSiteSettings {
  site: string;
  ec2Url: string;
  s3Url: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The account number written into manifests as `<user>`. */
  userId: string;
  /** PEM of the user's certificate, its private key, and the cloud's certificate. */
  userCertPem: string;
  userKeyPem: string;
  cloudCertPem: string;
  bucket: string;
  architecture: (typeof ARCHITECTURES)[number];
  registrationTimeoutMs: number;
  pollIntervalMs: number;
  partsInFlight: number;
  kernelId?: string;
  ramdiskId?: string;
}

/** A site whose options cannot work; the message names the site and what is wrong. */
export class EucalyptusConfigError extends Error {
  constructor(
    readonly site: string,
    detail: string,
  ) {
    super(`site ${site}: ${detail}`);
    this.name = 'EucalyptusConfigError';
  }
}

/** Read the eucarc and the files it names; check that every credential is there and usable. */
export async function resolveEucalyptusSite(
  config: EucalyptusSiteConfig,
  ctx: { site: string; configDir: string },
): Promise<EucalyptusSiteSettings> {
  const fail = (detail: string): never => {
    throw new EucalyptusConfigError(ctx.site, detail);
  };
  const eucarcFile = resolve(ctx.configDir, config.eucarc);
  const eucarcDir = dirname(eucarcFile);
  const text = await readFile(eucarcFile, 'utf8').catch((err: NodeJS.ErrnoException) =>
    fail(`cannot read eucarc ${eucarcFile} (${err.code ?? err.message})`),
  );
  const vars: EucarcVariables = parseEucarc(text, eucarcDir);
  const need = (names: string[], what: string): string => {
    for (const n of names) if (vars[n]) return vars[n];
    return fail(`eucarc ${eucarcFile} sets no ${what} (${names.join(' or ')})`);
  };
  const endpoint = (override: string | undefined, name: string): string => {
    const url = override ?? need([name], `${name === 'EC2_URL' ? 'compute' : 'object storage'} endpoint`);
    if (!/^https?:\/\/[^/]/.test(url)) fail(`${name} in ${eucarcFile} is not an http(s) URL`);
    return url;
  };
  const pemFile = async (name: string, what: string): Promise<string> => {
    const path = eucarcPath(vars, name, eucarcDir) ?? fail(`eucarc ${eucarcFile} sets no ${name} (${what})`);
    return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) =>
      fail(`cannot read ${what} ${path} named by ${name} (${err.code ?? err.message})`),
    );
  };

  const accessKeyId = need(['EC2_ACCESS_KEY', 'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'], 'access key');
  const secretAccessKey = need(['EC2_SECRET_KEY', 'AWS_SECRET_KEY', 'AWS_SECRET_ACCESS_KEY'], 'secret key');
  const userId = need(['EC2_USER_ID', 'EC2_ACCOUNT_NUMBER'], 'account number');
  if (!/^\d{12}$/.test(userId)) fail(`EC2_USER_ID in ${eucarcFile} is not a 12-digit account number`);
  const userCertPem = await pemFile('EC2_CERT', 'user certificate');
  const userKeyPem = await pemFile('EC2_PRIVATE_KEY', 'user private key');
  const cloudCertPem = await pemFile('EUCALYPTUS_CERT', 'cloud certificate');
  const check = (what: string, parse: () => unknown): void => {
    try {
      parse();
    } catch {
      fail(`the ${what} named by the eucarc ${eucarcFile} is not a valid PEM`); // the parser's text may quote the key
    }
  };
  check('user certificate (EC2_CERT)', () => new X509Certificate(userCertPem));
  check('cloud certificate (EUCALYPTUS_CERT)', () => new X509Certificate(cloudCertPem));
  check('user private key (EC2_PRIVATE_KEY)', () => createPrivateKey(userKeyPem));

  return {
    site: ctx.site,
    ec2Url: endpoint(config.ec2Url, 'EC2_URL'),
    s3Url: endpoint(config.s3Url, 'S3_URL'),
    region: config.region,
    accessKeyId,
    secretAccessKey,
    userId,
    userCertPem,
    userKeyPem,
    cloudCertPem,
    bucket: config.bucket,
    architecture: config.architecture,
    registrationTimeoutMs: config.registrationTimeoutSeconds * 1000,
    pollIntervalMs: config.pollIntervalSeconds * 1000,
    partsInFlight: config.partsInFlight,
    ...(config.kernelId ? { kernelId: config.kernelId } : {}),
    ...(config.ramdiskId ? { ramdiskId: config.ramdiskId } : {}),
  };
}
