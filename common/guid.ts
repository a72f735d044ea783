/** Checks on names that end up in workflow ids, paths and commands. Workflow-safe. */

const GUID = /^[0-9a-f]{40}$/;
const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A GUID is the SHA-1 of the metadata file: exactly 40 lowercase hex digits. */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/**
 * The one GUID rule of every front (CLI, JSON API, SOAP, the client library): SHA-1 hex is
 * case-blind, so any case is accepted and lower-cased here; anything else is passed through for
 * `guidProblem` to describe.
 */
export function normalizeGuid<T>(value: T): T {
  return (typeof value === 'string' && /^[0-9a-f]{40}$/i.test(value.trim()) ? value.trim().toLowerCase() : value) as T;
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
