/**
 * Names of an image on the management node, derived from the GUID alone, so that every attempt
 * and every worker computes the same ones (this is what makes `register` idempotent). Pure.
 * xCAT names a netboot osimage `<osvers>-<osarch>-netboot-<profile>` and keeps its files in
 * `<install>/netboot/<osvers>/<osarch>/<profile>/`; the profile here is `<prefix>-<guid>`.
 */
import { posix } from 'node:path';
import { checkName } from './remote-values.js';

export interface NetbootNaming {
  osvers: string;
  osarch: string;
  /** Prefix of the GUID-derived profile. */
  profilePrefix: string;
  installRoot: string;
}

export interface NetbootNames {
  profile: string;
  osimage: string;
  /** `<install>/netboot/<osvers>/<osarch>/<profile>` */
  dir: string;
}

export function netbootNamesOf(guid: string, n: NetbootNaming): NetbootNames {
  const profile = checkName(`${n.profilePrefix}-${guid}`, 'profile');
  const osvers = checkName(n.osvers, 'osvers');
  const osarch = checkName(n.osarch, 'osarch');
  return {
    profile,
    osimage: `${osvers}-${osarch}-netboot-${profile}`,
    dir: posix.join(n.installRoot, 'netboot', osvers, osarch, profile),
  };
}

/** The file names xCAT's genimage/packimage give a stateless image in its directory. */
export const NETBOOT_KERNEL = 'kernel';
export const NETBOOT_INITRD = 'initrd-stateless.gz';
export const rootimgFileName = (kind: string): string => `rootimg.${kind}`;

/** Where ImageProxy keeps its own state on the management node (staging, records). */
export function stateDirsOf(installRoot: string, guid: string): { staging: string; record: string; recordsDir: string } {
  const base = posix.join(installRoot, '.imageproxy');
  return {
    staging: posix.join(base, 'staging', guid),
    recordsDir: posix.join(base, 'images'),
    record: posix.join(base, 'images', `${guid}.json`),
  };
}
