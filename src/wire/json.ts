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
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * True when the JSON text in `bytes` nests arrays and objects more than `maxDepth` deep.
 * One pass over the raw bytes, before anything parses them: brackets inside strings do not
 * count, and UTF-8 never uses a byte below 0x80 inside a multi-byte character, so no
 * decoding is needed. Malformed JSON is left for the parser to refuse.
 */
export function exceedsJsonDepth(bytes: Uint8Array, maxDepth: number): boolean {
  // Depth never passes the count of opening brackets: a body with few of them (every plain
  // call) is answered by the native byte search, without the walk below over each byte.
  if (
    countAtMost(bytes, OPEN_BRACE, maxDepth) + countAtMost(bytes, OPEN_BRACKET, maxDepth) <=
    maxDepth
  )
    return false;
  let depth = 0;
  let isInString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (isInString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) isInString = false;
    } else if (byte === QUOTE) isInString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth -= 1;
  }
  return false;
}

/** How many times `byte` occurs in `bytes`, counting no further than `limit` + 1. */
function countAtMost(bytes: Uint8Array, byte: number, limit: number): number {
  let count = 0;
  for (let at = bytes.indexOf(byte); at !== -1 && count <= limit; at = bytes.indexOf(byte, at + 1))
    count += 1;
  return count;
}
