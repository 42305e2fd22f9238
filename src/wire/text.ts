// Small text helpers for validation and error messages: measuring in UTF-8 bytes, and
// quoting what a client sent without echoing all of it back.
import { MAX_QUOTED_LENGTH } from './limits.js';

/**
 * The UTF-8 length of `text` in bytes, counting no further than `limit + 1`, so checking a
 * 5 MB string against a 255-byte limit costs 256 steps. A lone surrogate counts as the 3
 * bytes of the replacement character it is encoded as.
 */
export function utf8Length(text: string, limit = Number.POSITIVE_INFINITY): number {
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** `text`, cut to `max` characters with a note of how much was left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * `text` in single quotes for a message, cut to a few dozen characters, with control
 * characters escaped (`\u001b`), so a message or log line cannot carry a terminal escape.
 */
export function quote(text: string): string {
  const shown = text.length <= MAX_QUOTED_LENGTH ? text : `${text.slice(0, MAX_QUOTED_LENGTH)}…`;
  const escaped = escapeControls(shown);
  return text.length <= MAX_QUOTED_LENGTH
    ? `'${escaped}'`
    : `'${escaped}' (${text.length} characters)`;
}

/** `text` with each ASCII control character written as `\uXXXX`. */
function escapeControls(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}

/**
 * What a refused input was, for a message: a short string (as JSON writes it) or a number
 * as it was, anything else by its kind. Never serializes the input whole, which may be huge
 * or deeply nested.
 */
export function describeInput(input: unknown): string {
  if (typeof input === 'string')
    return input.length <= MAX_QUOTED_LENGTH
      ? JSON.stringify(input)
      : `${JSON.stringify(`${input.slice(0, MAX_QUOTED_LENGTH)}…`)} (${input.length} characters)`;
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  if (input === null) return 'null';
  if (Array.isArray(input)) return `an array of ${input.length}`;
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}
