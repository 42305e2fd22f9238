const NON_ASCII = /[\u007f-\uffff]/g;
/**
 * JSON.stringify that writes bigint values as bare integers, so int64 fields
 * (TimeInfo.nanoseconds is ~1.7e18, past Number.MAX_SAFE_INTEGER) keep every
 * digit (WIRE §1.3). Values without a bigint take the native path.
 */
export function stringifyJson(value: unknown): string {
  // Native first, with no replacer (a replacer call per key made this several times
  // slower, on every event and reply); JSON.stringify refuses a bigint with a TypeError.
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    return writeJson(value);
  }
}

/** JSON text of `value`, as JSON.stringify writes it, but with bigints as integers. */
function writeJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return writeJson(withToJson.toJSON());
  if (Array.isArray(value))
    return `[${value.map((item) => (isOmitted(item) ? 'null' : writeJson(item))).join(',')}]`;
  const members: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (isOmitted(item)) continue;
    members.push(`${JSON.stringify(key)}:${writeJson(item)}`);
  }
  return `{${members.join(',')}}`;
}

function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What a byte is to the depth walk: most bytes nothing (0), the rest one of these. */
const IS_QUOTE = 1;
const IS_OPENING = 2;
const IS_CLOSING = 3;
const BYTE_KIND = new Uint8Array(256);
BYTE_KIND[QUOTE] = IS_QUOTE;
BYTE_KIND[0x5b] = IS_OPENING; // [
BYTE_KIND[0x7b] = IS_OPENING; // {
BYTE_KIND[0x5d] = IS_CLOSING; // ]
BYTE_KIND[0x7d] = IS_CLOSING; // }

/**
 * True when the JSON text in `bytes` nests arrays and objects more than `maxDepth` deep.
 * One pass over the raw bytes, before anything parses them (V8's JSON.parse takes time
 * superlinear in the nesting): brackets inside strings do not count, and UTF-8 never uses a
 * byte below 0x80 inside a multi-byte character, so no decoding is needed. Malformed JSON is
 * left for the parser to refuse.
 *
 * Every agent's SUBSCRIBE (~5-7 KB, ~150 objects) passes here in a failover: a table says
 * what each byte is, and a string is skipped in a loop of its own that looks for its end
 * only. It replaced a first count of the opening brackets, which a body with more than
 * `maxDepth` of them (every SUBSCRIBE) paid on top of the walk (4.8 -> 3.0 µs, #10).
 */
export function exceedsJsonDepth(bytes: Uint8Array, maxDepth: number): boolean {
  const length = bytes.length;
  let depth = 0;
  for (let i = 0; i < length; i++) {
    const kind = BYTE_KIND[bytes[i] as number];
    if (kind === 0) continue;
    if (kind === IS_QUOTE) {
      // To the string's closing quote; an escaped character is stepped over.
      for (i++; i < length; i++) {
        const byte = bytes[i];
        if (byte === QUOTE) break;
        if (byte === BACKSLASH) i++;
      }
    } else if (kind === IS_OPENING) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else depth -= 1;
  }
  return false;
}
