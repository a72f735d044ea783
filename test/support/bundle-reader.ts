/**
 * Reads a bundle back the way the cloud would: the manifest and its parts from S3, the key and IV
 * decrypted with a private key (`openssl pkeyutl`, since Node refuses PKCS#1 v1.5 decryption),
 * the parts decrypted, gunzipped and untarred. For tests: buffers, small images only.
 */
import { execFile } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { XMLParser } from 'fast-xml-parser';
import tar from 'tar-stream';

const run = promisify(execFile);

export interface ManifestView {
  xml: string;
  /** Child element names in document order, of the root, machine_configuration and image. */
  rootOrder: string[];
  machineConfigurationOrder: string[];
  imageOrder: string[];
  architecture: string;
  kernelId?: string;
  ramdiskId?: string;
  name: string;
  user: string;
  type: string;
  digest: string;
  size: number;
  bundledSize: number;
  userEncryptedKey: string;
  userEncryptedIv: string;
  ec2EncryptedKey: string;
  ec2EncryptedIv: string;
  partCount: number;
  parts: { index: number; filename: string; sha1: string }[];
  signature: string;
  /** The exact bytes the signature covers: `<machine_configuration>…</machine_configuration><image>…</image>`. */
  signedText: string;
}

export function readManifest(xml: string): ManifestView {
  const ordered = new XMLParser({ preserveOrder: true, ignoreAttributes: false }).parse(xml) as Record<string, unknown>[];
  const names = (nodes: Record<string, unknown>[]): string[] => nodes.flatMap((n) => Object.keys(n).filter((k) => k !== ':@' && k !== '#text'));
  const root = (ordered.find((n) => 'manifest' in n)!.manifest as Record<string, unknown>[]);
  const child = (nodes: Record<string, unknown>[], name: string): Record<string, unknown>[] =>
    nodes.find((n) => name in n)![name] as Record<string, unknown>[];
  const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (n) => n === 'part' }).parse(xml) as {
    manifest: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const m = doc.manifest;
  const text = (v: unknown): string => (typeof v === 'object' && v !== null ? String((v as Record<string, unknown>)['#text']) : String(v));
  const start = xml.indexOf('<machine_configuration>');
  const end = xml.indexOf('</image>') + '</image>'.length;
  return {
    xml,
    rootOrder: names(root),
    machineConfigurationOrder: names(child(root, 'machine_configuration')),
    imageOrder: names(child(root, 'image')),
    architecture: text(m.machine_configuration.architecture),
    ...(m.machine_configuration.kernel_id !== undefined ? { kernelId: text(m.machine_configuration.kernel_id) } : {}),
    ...(m.machine_configuration.ramdisk_id !== undefined ? { ramdiskId: text(m.machine_configuration.ramdisk_id) } : {}),
    name: text(m.image.name),
    user: text(m.image.user),
    type: text(m.image.type),
    digest: text(m.image.digest),
    size: Number(text(m.image.size)),
    bundledSize: Number(text(m.image.bundled_size)),
    userEncryptedKey: text(m.image.user_encrypted_key),
    userEncryptedIv: text(m.image.user_encrypted_iv),
    ec2EncryptedKey: text(m.image.ec2_encrypted_key),
    ec2EncryptedIv: text(m.image.ec2_encrypted_iv),
    partCount: Number(m.image.parts['@_count']),
    parts: (m.image.parts.part as Record<string, unknown>[]).map((p) => ({
      index: Number(p['@_index']),
      filename: text(p.filename),
      sha1: text(p.digest),
    })),
    signature: text(m.signature),
    signedText: xml.slice(start, end),
  };
}

/** Decrypt one hex-encoded, RSA-encrypted value of the manifest with a private key file. */
export async function decryptManifestValue(hex: string, privateKeyPath: string): Promise<string> {
  const child = execFile('openssl', ['pkeyutl', '-decrypt', '-inkey', privateKeyPath, '-pkeyopt', 'rsa_padding_mode:pkcs1']);
  const out: Buffer[] = [];
  child.stdout!.setEncoding('latin1');
  child.stdout!.on('data', (d: string) => out.push(Buffer.from(d, 'latin1')));
  const done = new Promise<void>((res, rej) => child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`openssl exit ${code}`)))));
  child.stdin!.end(Buffer.from(hex, 'hex'));
  await done;
  return Buffer.concat(out).toString('latin1');
}

export async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

export interface UnbundledImage {
  tarSha1: string;
  members: { name: string; data: Buffer }[];
}

/** Decrypt, gunzip and untar the concatenated parts. */
export async function unbundle(parts: Buffer[], keyHex: string, ivHex: string): Promise<UnbundledImage> {
  const decipher = createDecipheriv('aes-128-cbc', Buffer.from(keyHex, 'hex'), Buffer.from(ivHex, 'hex'));
  const gz = Buffer.concat([decipher.update(Buffer.concat(parts)), decipher.final()]);
  const tarBytes = gunzipSync(gz);
  const members: { name: string; data: Buffer }[] = [];
  const extract = tar.extract();
  const finished = new Promise<void>((res, rej) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        members.push({ name: header.name, data: Buffer.concat(chunks) });
        next();
      });
    });
    extract.on('finish', res);
    extract.on('error', rej);
  });
  extract.end(tarBytes);
  await finished;
  return { tarSha1: createHash('sha1').update(tarBytes).digest('hex'), members };
}

export { run as execFileAsync };
