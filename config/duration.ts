/** Durations in the config: `90s`, `15m`, `6h`, `1d` (any unit `ms` reads), or a number of milliseconds. Pure. */
import ms from 'ms';

/** Milliseconds of `value`, or an error message when it is not a positive duration. */
export function parseDuration(value: number | string): number | { error: string } {
  if (typeof value === 'number') return value > 0 ? value : { error: `a duration must be > 0 ms, got ${value}` };
  // A bare number in a string has no unit: refused, as before (`"90"` is more likely a typo than 90 ms).
  const text = value.trim();
  const parsed = /^\d.*[a-z]$/i.test(text) && text.length <= 100 ? Math.round(ms(text)) : Number.NaN;
  if (!Number.isFinite(parsed)) return { error: `not a duration: ${JSON.stringify(value)} (write e.g. "90s", "15m", "6h", "1d")` };
  return parsed > 0 ? parsed : { error: `a duration must be > 0, got ${JSON.stringify(value)}` };
}
