/**
 * The bundle manifest, version 2007-10-10, as `ec2-bundle-image` / `euca-bundle-image` write it
 * and Eucalyptus reads it: `<manifest>` holding `<version>`, `<bundler>`, `<machine_configuration>`,
 * `<image>` and `<signature>`. The signature is RSA-SHA1 (hex) by the user's key over the
 * serialized `<machine_configuration>` followed by the serialized `<image>`, byte for byte as they
 * appear in the manifest: we serialize the two once and splice those very bytes in. Pure.
 */
import { X509Certificate, constants, createPrivateKey, publicEncrypt, sign } from 'node:crypto';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';

export const MANIFEST_VERSION = '2007-10-10';

export type BundleImageType = 'machine' | 'kernel' | 'ramdisk';

export interface ManifestPart {
  /** File name of the part, `<name>.part.NN`. */
  filename: string;
  /** SHA-1 (hex) of the part's bytes. */
  sha1: string;
}

export interface ManifestInput {
  /** Image name in the manifest (the bundle's name). */
  name: string;
  /** Account number of the owner (`EC2_USER_ID`). */
  user: string;
  type: BundleImageType;
  architecture: string;
  /** For machine images: the kernel and ramdisk to boot with. */
  kernelId?: string;
  ramdiskId?: string;
  /** SHA-1 (hex) of the tar stream before compression. */
  digest: string;
  /** Size of the image in bytes. */
  size: number;
  /** Sum of the sizes of the parts. */
  bundledSize: number;
  /** The AES-128-CBC key and IV of the bundle (16 bytes each). */
  key: Buffer;
  iv: Buffer;
  parts: ManifestPart[];
}

export interface ManifestKeys {
  /** PEM certificate of the user and of the cloud: the key and IV are encrypted to each. */
  userCertPem: string;
  cloudCertPem: string;
  /** PEM private key of the user, which signs. */
  userKeyPem: string;
}

export interface BundlerInfo {
  name: string;
  version: string;
  release: string;
}

const DEFAULT_BUNDLER: BundlerInfo = { name: 'imageproxy', version: '1.0', release: '1' };

/** Block device mapping of a machine image, as the bundling tools write it by default. */
const MACHINE_BLOCK_DEVICES: [virtual: string, device: string][] = [
  ['ami', 'sda1'],
  ['root', '/dev/sda1'],
  ['ephemeral0', 'sda2'],
  ['swap', 'sda3'],
];

/** The manifest's XML text, signed. */
export function buildManifest(input: ManifestInput, keys: ManifestKeys, bundler: BundlerInfo = DEFAULT_BUNDLER): string {
  if (input.key.length !== 16 || input.iv.length !== 16) throw new Error('bundle key and IV must be 16 bytes each');
  const machineConfiguration = serialize(machineConfigurationElement(input));
  const image = serialize(imageElement(input, keys));
  const signature = signManifest(machineConfiguration, image, keys.userKeyPem);
  const head = create()
    .ele('version')
    .txt(MANIFEST_VERSION)
    .up();
  const bundlerXml = serialize(
    create().ele('bundler').ele('name').txt(bundler.name).up().ele('version').txt(bundler.version).up()
      .ele('release').txt(bundler.release).up().up(),
  );
  return (
    '<?xml version="1.0"?>' +
    '<manifest>' +
    serialize(head) +
    bundlerXml +
    machineConfiguration +
    image +
    `<signature>${signature}</signature>` +
    '</manifest>'
  );
}

/** RSA-SHA1 signature (hex) over the serialized machine configuration followed by the image. */
export function signManifest(machineConfigurationXml: string, imageXml: string, userKeyPem: string): string {
  return sign('sha1', Buffer.from(machineConfigurationXml + imageXml, 'utf8'), createPrivateKey(userKeyPem)).toString('hex');
}

/**
 * The key (or IV) as the manifest holds it: its 32 hex characters, RSA-encrypted (PKCS#1 v1.5) to
 * the certificate's public key, hex-encoded.
 */
export function encryptForCertificate(secret: Buffer, certPem: string): string {
  const publicKey = new X509Certificate(certPem).publicKey;
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(secret.toString('hex'), 'ascii')).toString('hex');
}

function machineConfigurationElement(input: ManifestInput): XMLBuilder {
  const mc = create().ele('machine_configuration');
  mc.ele('architecture').txt(input.architecture);
  if (input.type === 'machine') {
    const bdm = mc.ele('block_device_mapping');
    for (const [virtual, device] of MACHINE_BLOCK_DEVICES) {
      bdm.ele('mapping').ele('virtual').txt(virtual).up().ele('device').txt(device);
    }
    if (input.kernelId) mc.ele('kernel_id').txt(input.kernelId);
    if (input.ramdiskId) mc.ele('ramdisk_id').txt(input.ramdiskId);
  } else {
    // Eucalyptus marks kernel and ramdisk bundles with the magic id "true".
    mc.ele(input.type === 'kernel' ? 'kernel_id' : 'ramdisk_id').txt('true');
  }
  return mc;
}

function imageElement(input: ManifestInput, keys: ManifestKeys): XMLBuilder {
  const image = create().ele('image');
  image.ele('name').txt(input.name);
  image.ele('user').txt(input.user);
  image.ele('type').txt(input.type);
  image.ele('digest', { algorithm: 'SHA1' }).txt(input.digest);
  image.ele('size').txt(String(input.size));
  image.ele('bundled_size').txt(String(input.bundledSize));
  image.ele('ec2_encrypted_key', { algorithm: 'AES-128-CBC' }).txt(encryptForCertificate(input.key, keys.cloudCertPem));
  image.ele('user_encrypted_key', { algorithm: 'AES-128-CBC' }).txt(encryptForCertificate(input.key, keys.userCertPem));
  image.ele('ec2_encrypted_iv').txt(encryptForCertificate(input.iv, keys.cloudCertPem));
  image.ele('user_encrypted_iv').txt(encryptForCertificate(input.iv, keys.userCertPem));
  const parts = image.ele('parts', { count: String(input.parts.length) });
  input.parts.forEach((part, index) => {
    parts.ele('part', { index: String(index) }).ele('filename').txt(part.filename).up()
      .ele('digest', { algorithm: 'SHA1' }).txt(part.sha1);
  });
  return image;
}

/** Compact XML of an element, no declaration: the exact bytes that are signed and written. */
function serialize(node: XMLBuilder): string {
  return node.end({ headless: true, prettyPrint: false });
}
