/** Checks on names that end up in workflow ids, paths and commands. Workflow-safe. */

const GUID = /^[0-9a-f]{40}$/;
const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A GUID is the SHA-1 of the metadata file: exactly 40 lowercase hex digits. */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** Describes why `value` is not a GUID, or returns undefined when it is one. */
export function guidProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `GUID must be a string, got ${typeof value}`;
  if (GUID.test(value)) return undefined;
  if (/^[0-9A-F]{40}$/i.test(value)) return `GUID must be lowercase hex: ${JSON.stringify(value)}`;
  return `GUID must be the 40-hex-digit SHA-1 of the metadata file, got ${JSON.stringify(value.slice(0, 80))}`;
}

export function isSiteName(value: unknown): value is string {
  return typeof value === 'string' && SITE_NAME.test(value);
}
