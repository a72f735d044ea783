/** Durations in the config: `90s`, `15m`, `6h`, `1d`, or a number of milliseconds. Pure. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of `value`, or an error message when it is not a positive duration. */
export function parseDuration(value: number | string): number | { error: string } {
  if (typeof value === 'number') return value > 0 ? value : { error: `a duration must be > 0 ms, got ${value}` };
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!m) return { error: `not a duration: ${JSON.stringify(value)} (write e.g. "90s", "15m", "6h", "1d")` };
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  return ms > 0 ? ms : { error: `a duration must be > 0, got ${JSON.stringify(value)}` };
}
