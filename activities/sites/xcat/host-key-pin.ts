/**
 * The management node's pinned host key: an OpenSSH `SHA256:` fingerprint or a known_hosts line.
 * Pure. Used by ssh2's `hostVerifier`, which sees the raw key blob during key exchange, before
 * authentication; anything but the pinned key is refused (no trust on first use).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type HostKeyPin = { kind: 'fingerprint'; sha256: string } | { kind: 'key'; blob: Buffer };

export function parseHostKeyPin(text: string): HostKeyPin {
  const t = text.trim();
  const fp = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(t);
  if (fp) return { kind: 'fingerprint', sha256: fp[1]! };
  // known_hosts: [markers] hostnames keytype base64 [comment]
  const fields = t.split(/\s+/).filter((f) => !f.startsWith('@'));
  const blob = fields[2] !== undefined ? Buffer.from(fields[2], 'base64') : undefined;
  if (!blob || blob.length < 16) throw new Error('hostKey is neither a SHA256: fingerprint nor a known_hosts line');
  return { kind: 'key', blob };
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function hostKeyMatches(pin: HostKeyPin, blob: Buffer): boolean {
  if (pin.kind === 'fingerprint') return fingerprintOf(blob) === `SHA256:${pin.sha256}`;
  return pin.blob.length === blob.length && timingSafeEqual(pin.blob, blob);
}
