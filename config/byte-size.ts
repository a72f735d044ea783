/** Byte sizes as people write them in a config file: `20GiB`, `500 MB`, `1048576`. Pure. */

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Parse a byte size: a non-negative integer, or a number with a unit (B, kB/MB/GB/TB are powers
 * of 1000, KiB/MiB/GiB/TiB powers of 1024; case does not matter). Answers an error message
 * instead of a number when the text is not a size.
 */
export function parseByteSize(value: number | string): number | { error: string } {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : { error: `a byte count must be a whole number ≥ 0, got ${value}` };
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = m?.[2]?.toLowerCase() || 'b';
  const factor = UNITS[unit];
  if (!m || factor === undefined) {
    return { error: `not a size: ${JSON.stringify(value)} (write e.g. "20GiB", "500MB" or a number of bytes)` };
  }
  const bytes = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : { error: `size too large: ${JSON.stringify(value)}` };
}

/** Human form for messages: `3.0 MiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
