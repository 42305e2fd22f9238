const NON_ASCII = /[\u007f-\uffff]/g;
const INT64_MARK = '\u0000int64:';
const INT64_PATTERN = /"\\u0000int64:(-?\d+)"/g;

/**
 * JSON.stringify that writes bigint values as bare integers, so int64 fields
 * (TimeInfo.nanoseconds is ~1.7e18, past Number.MAX_SAFE_INTEGER) keep every
 * digit (WIRE §1.3).
 */
export function stringifyJson(value: unknown): string {
  let sawBigint = false;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    sawBigint = true;
    return `${INT64_MARK}${v}`;
  });
  return sawBigint ? json.replace(INT64_PATTERN, '$1') : json;
}

/**
 * stringifyJson with every non-ASCII character escaped as \uXXXX, so that a
 * record's byte length equals its string length. Widely used Mesos clients
 * compare the two and drop events whose hostname or label is not ASCII
 * (WIRE §1.5).
 */
export function toAsciiJson(value: unknown): string {
  return stringifyJson(value).replace(
    NON_ASCII,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A TimeInfo/DurationInfo value from milliseconds, exact as int64. */
export function nanosFromMs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}
