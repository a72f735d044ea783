/**
 * A `eucalyptus` backend against a real moto_server, with its SDK clients instrumented: every
 * command sent is recorded (name and input) and a test may make chosen commands fail.
 */
import { DescribeImagesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createEucalyptusSite } from '../../../../activities/sites/eucalyptus/eucalyptus-site.js';
import {
  EucalyptusSiteSchema,
  resolveEucalyptusSite,
  type EucalyptusSiteSettings,
} from '../../../../activities/sites/eucalyptus/eucalyptus-site-options.js';
import { createEc2Client } from '../../../../activities/sites/eucalyptus/register.js';
import { createBundleS3Client } from '../../../../activities/sites/eucalyptus/upload-bundle.js';
import type { SiteBackend } from '../../../../activities/sites/site-backend.js';
import type { EucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { uniqueName } from '../../../support/image-proxy-world.js';
export { writePart } from '../../../support/cached-parts.js';

export interface SentCommand {
  client: 'ec2' | 's3';
  name: string;
  input: Record<string, unknown>;
}

export interface InstrumentedSite {
  backend: SiteBackend;
  settings: EucalyptusSiteSettings;
  ec2: EC2Client;
  s3: S3Client;
  sent: SentCommand[];
  /** Make commands fail while `when` answers an error for them. */
  failWhen(when: ((c: SentCommand) => Error | undefined) | undefined): void;
  commands(name: string): SentCommand[];
  /**
   * Our images (owner self) whose name starts with `prefix` and that this site touched (registered
   * or looked up by name): other tests share the moto_server.
   */
  imagesNamed(prefix: string): Promise<Image[]>;
  /** Keys of every object in the site's bucket. */
  objects(): Promise<string[]>;
}

export async function instrumentedSite(
  creds: EucalyptusCredentials,
  workDir: string,
  overrides: Record<string, unknown> = {},
): Promise<InstrumentedSite> {
  const config = EucalyptusSiteSchema.parse({
    type: 'eucalyptus',
    eucarc: creds.eucarc,
    region: 'us-east-1',
    bucket: uniqueName('bukkit').toLowerCase(),
    pollIntervalSeconds: 0.05,
    ...overrides,
  });
  const settings = await resolveEucalyptusSite(config, { site: uniqueName('euca'), configDir: creds.dir });
  const ec2 = createEc2Client({ ...settings, url: settings.ec2Url });
  const s3 = createBundleS3Client({ ...settings, url: settings.s3Url });
  const sent: SentCommand[] = [];
  let failure: ((c: SentCommand) => Error | undefined) | undefined;
  for (const [client, sdk] of [['ec2', ec2], ['s3', s3]] as const) {
    (sdk.middlewareStack as EC2Client['middlewareStack']).add(
      (next, context) => async (args) => {
        const command = { client, name: context.commandName ?? '', input: { ...(args.input as Record<string, unknown>) } };
        sent.push(command);
        const err = failure?.(command);
        if (err) throw err;
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
  }
  const backend = createEucalyptusSite({ settings, workDir, ec2, s3 });
  return {
    backend,
    settings,
    ec2,
    s3,
    sent,
    failWhen(when) {
      failure = when;
    },
    commands: (name) => sent.filter((c) => c.name === name),
    async imagesNamed(prefix) {
      const touched = new Set<string>();
      for (const c of sent) {
        if (c.name === 'RegisterImageCommand') touched.add(String(c.input.Name));
        const filters = (c.input.Filters ?? []) as { Name?: string; Values?: string[] }[];
        for (const f of filters) if (f.Name === 'name') for (const v of f.Values ?? []) touched.add(v);
      }
      const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
      return Images.filter((i) => i.Name?.startsWith(prefix) && touched.has(i.Name));
    },
    async objects() {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: settings.bucket })).catch((err: Error) => {
        if (err.name === 'NoSuchBucket') return { Contents: [] };
        throw err;
      });
      return (res.Contents ?? []).map((o) => o.Key!);
    },
  };
}
