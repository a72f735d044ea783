/**
 * A credentials directory as a Eucalyptus cloud issues it: `eucarc`, the user's certificate and
 * private key, the cloud's certificate. Key pairs are made here with `openssl req -x509`; the
 * cloud's private key is kept too, so a test can decrypt what the bundle encrypted to the cloud.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface EucalyptusCredentials {
  dir: string;
  eucarc: string;
  accessKey: string;
  secretKey: string;
  accountId: string;
  userCert: string;
  userKey: string;
  cloudCert: string;
  cloudKey: string;
}

/** moto's account: images registered there are owned by it, so `Owners: self` finds them. */
export const MOTO_ACCOUNT_ID = '123456789012';

export async function writeEucalyptusCredentials(dir: string, opts: { ec2Url?: string; s3Url?: string } = {}): Promise<EucalyptusCredentials> {
  const pair = async (name: string): Promise<[cert: string, key: string]> => {
    const cert = join(dir, `${name}-cert.pem`);
    const key = join(dir, `${name}-pk.pem`);
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert]);
    return [cert, key];
  };
  const [[userCert, userKey], [cloudCert, cloudKey]] = await Promise.all([pair('euca2-admin'), pair('cloud')]);
  const accessKey = `AKI${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(20).toString('base64');
  // The shape of an issued eucarc: EUCA_KEY_DIR computed by the shell, paths under it, quoted keys.
  const eucarc = [
    'EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)',
    `export EC2_URL=${opts.ec2Url ?? 'http://euca.invalid:8773/services/compute'}`,
    `export S3_URL=${opts.s3Url ?? 'http://euca.invalid:8773/services/objectstorage'}`,
    'export EC2_PRIVATE_KEY=${EUCA_KEY_DIR}/euca2-admin-pk.pem',
    'export EC2_CERT=${EUCA_KEY_DIR}/euca2-admin-cert.pem',
    'export EC2_JVM_ARGS=-Djavax.net.ssl.trustStore=${EUCA_KEY_DIR}/jssecacerts',
    'export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem',
    `export EC2_ACCOUNT_NUMBER='${MOTO_ACCOUNT_ID}'`,
    `export EC2_ACCESS_KEY='${accessKey}'`,
    `export EC2_SECRET_KEY='${secretKey}'`,
    'export AWS_CREDENTIAL_FILE=${EUCA_KEY_DIR}/iamrc',
    `export EC2_USER_ID='${MOTO_ACCOUNT_ID}'`,
    'alias ec2-bundle-image="ec2-bundle-image --cert ${EC2_CERT} --privatekey ${EC2_PRIVATE_KEY} --user ${EC2_ACCOUNT_NUMBER} --ec2cert ${EUCALYPTUS_CERT}"',
    '',
  ].join('\n');
  const eucarcPath = join(dir, 'eucarc');
  await writeFile(eucarcPath, eucarc);
  return { dir, eucarc: eucarcPath, accessKey, secretKey, accountId: MOTO_ACCOUNT_ID, userCert, userKey, cloudCert, cloudKey };
}
