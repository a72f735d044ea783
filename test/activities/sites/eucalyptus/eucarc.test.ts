import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eucarcPath, parseEucarc } from '../../../../activities/sites/eucalyptus/eucarc.js';
import { EucalyptusSiteSchema, resolveEucalyptusSite } from '../../../../activities/sites/eucalyptus/eucalyptus-site-options.js';
import { writeEucalyptusCredentials, type EucalyptusCredentials } from '../../../support/eucalyptus-credentials.js';
import { newTestDir } from '../../../support/image-proxy-world.js';

describe('parseEucarc', () => {
  it('reads an issued eucarc: exports, quotes, ${EUCA_KEY_DIR} as its own directory, no shell run', () => {
    const vars = parseEucarc(
      [
        'EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)',
        'export EC2_URL=http://10.0.0.1:8773/services/compute',
        'export EC2_CERT=${EUCA_KEY_DIR}/euca2-admin-cert.pem',
        'export EC2_PRIVATE_KEY=$EUCA_KEY_DIR/pk.pem',
        "export EC2_ACCESS_KEY='AKIA ''X'",
        'export EC2_SECRET_KEY="s3cr\\"et/$EC2_USER_ID"',
        '# export IGNORED=1',
        'export EC2_USER_ID=123456789012 # the account',
        'export EVIL=$(rm -rf /)',
        'alias ec2-bundle-image="ec2-bundle-image --cert ${EC2_CERT}"',
        'export S3_URL=http://10.0.0.1:8773/services/objectstorage;',
      ].join('\n'),
      '/creds',
    );
    expect(vars.EC2_URL).toBe('http://10.0.0.1:8773/services/compute');
    expect(vars.EC2_CERT).toBe('/creds/euca2-admin-cert.pem');
    expect(vars.EC2_PRIVATE_KEY).toBe('/creds/pk.pem');
    expect(vars.EC2_ACCESS_KEY).toBe('AKIA X');
    expect(vars.EC2_SECRET_KEY).toBe('s3cr"et/'); // EC2_USER_ID not yet set there
    expect(vars.EC2_USER_ID).toBe('123456789012');
    expect(vars.S3_URL).toBe('http://10.0.0.1:8773/services/objectstorage');
    expect(vars.IGNORED).toBeUndefined();
    expect(vars.EVIL).toBeUndefined();
    expect(vars.EUCA_KEY_DIR).toBe('/creds');
  });

  it('makes relative paths absolute against the eucarc directory', () => {
    const vars = parseEucarc('export EC2_CERT=cert.pem\nexport A=/abs/x.pem\n', '/d');
    expect(eucarcPath(vars, 'EC2_CERT', '/d')).toBe('/d/cert.pem');
    expect(eucarcPath(vars, 'A', '/d')).toBe('/abs/x.pem');
    expect(eucarcPath(vars, 'MISSING', '/d')).toBeUndefined();
  });
});

describe('resolveEucalyptusSite', () => {
  let dir: string;
  let creds: EucalyptusCredentials;
  beforeAll(async () => {
    dir = await newTestDir('eucarc');
    creds = await writeEucalyptusCredentials(join(dir));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const resolveWith = async (eucarcText: string, extra: Record<string, unknown> = {}) => {
    const sub = join(dir, String(Math.random()).slice(2));
    await mkdir(sub);
    await writeFile(join(sub, 'eucarc'), eucarcText);
    const config = EucalyptusSiteSchema.parse({ type: 'eucalyptus', eucarc: join(sub, 'eucarc'), ...extra });
    return resolveEucalyptusSite(config, { site: 'cloud1', configDir: dir });
  };

  it('resolves an issued eucarc relative to the config directory, with defaults', async () => {
    const config = EucalyptusSiteSchema.parse({ type: 'eucalyptus', eucarc: 'eucarc' });
    const s = await resolveEucalyptusSite(config, { site: 'cloud1', configDir: dir });
    expect(s).toMatchObject({
      site: 'cloud1',
      ec2Url: 'http://euca.invalid:8773/services/compute',
      s3Url: 'http://euca.invalid:8773/services/objectstorage',
      accessKeyId: creds.accessKey,
      userId: creds.accountId,
      bucket: 'imageproxy.bukkit',
      architecture: 'x86_64',
      registrationTimeoutMs: 1_800_000,
    });
    expect(s.userKeyPem).toContain('PRIVATE KEY');
    const o = await resolveEucalyptusSite(EucalyptusSiteSchema.parse({ type: 'eucalyptus', eucarc: 'eucarc', ec2Url: 'http://127.0.0.1:1', s3Url: 'http://127.0.0.1:2' }), { site: 'c', configDir: dir });
    expect([o.ec2Url, o.s3Url]).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
  });

  it('takes the AWS_* key names too', async () => {
    const text = (await import('node:fs')).readFileSync(creds.eucarc, 'utf8')
      .replace(/EC2_ACCESS_KEY/g, 'AWS_ACCESS_KEY').replace(/EC2_SECRET_KEY/g, 'AWS_SECRET_KEY')
      .replace(/\$\{EUCA_KEY_DIR\}/g, dir);
    const s = await resolveWith(text);
    expect(s.secretAccessKey).toBe(creds.secretKey);
  });

  it('names the site and what is missing, never a secret', async () => {
    const full = (await import('node:fs')).readFileSync(creds.eucarc, 'utf8').replace(/\$\{EUCA_KEY_DIR\}/g, dir);
    const without = (name: string) => full.split('\n').filter((l) => !l.includes(`${name}=`)).join('\n');
    await expect(resolveWith(without('EC2_SECRET_KEY'))).rejects.toThrow(/^site cloud1: eucarc .* sets no secret key \(EC2_SECRET_KEY or AWS_SECRET_KEY/);
    await expect(resolveWith(without('EC2_URL'))).rejects.toThrow(/^site cloud1: .*EC2_URL/);
    await expect(resolveWith(without('EUCALYPTUS_CERT'))).rejects.toThrow(/sets no EUCALYPTUS_CERT \(cloud certificate\)/);
    const badKey = full.replace(/EC2_PRIVATE_KEY=.*/, `EC2_PRIVATE_KEY=${creds.eucarc}`);
    const err = (await resolveWith(badKey).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^site cloud1: the user private key \(EC2_PRIVATE_KEY\) .* is not a valid PEM/);
    expect(err.message).not.toContain(creds.secretKey);
    expect(err.message).not.toContain(creds.accessKey);
    await expect(resolveWith(full.replace(/EC2_CERT=.*/, 'EC2_CERT=/nonexistent/cert.pem'))).rejects.toThrow(
      /cannot read user certificate \/nonexistent\/cert.pem named by EC2_CERT \(ENOENT\)/,
    );
    expect(() => EucalyptusSiteSchema.parse({ type: 'eucalyptus', eucarc: 'x', bucket: 'Bad_Bucket' })).toThrow(/bucket names/);
    expect(() => EucalyptusSiteSchema.parse({ type: 'eucalyptus', eucarc: 'x', typo: 1 })).toThrow();
  });
});
