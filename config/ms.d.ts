// The part of `ms` that config/duration.ts uses. ms 3 ships types, but its package.json "exports"
// does not point to them, so NodeNext resolution cannot find them. StringValue stays a plain
// string: @temporalio/common's `Duration` is built from it, and its callers pass plain strings.
declare module 'ms' {
  export type StringValue = string;
  /** Milliseconds of `value` (`90s`, `15m`, `6 h`, `1d`); NaN when it is not a duration; throws when empty or over 100 characters. */
  export default function ms(value: StringValue): number;
}
