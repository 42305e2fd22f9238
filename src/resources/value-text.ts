// The value syntax shared by the agent's --resources and --attributes flags (Mesos
// `values::parse` in src/common/values.cpp): '[b-e,…]' is RANGES, '{a,…}' is SET, a number is
// SCALAR, anything else is TEXT.
import type { Range } from '../wire/index.js';

export type ValueText =
  | { readonly kind: 'scalar'; readonly value: number }
  | { readonly kind: 'ranges'; readonly ranges: readonly Range[] }
  | { readonly kind: 'set'; readonly items: readonly string[] }
  | { readonly kind: 'text'; readonly value: string };

/** What went wrong, quoting the offending part; the caller adds where it was. */
export class ValueTextError extends Error {}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const RANGE = /^(\d+)\s*-\s*(\d+)$/;

/** Parses one value; throws ValueTextError. `text` is trimmed first. */
export function parseValueText(text: string): ValueText {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return { kind: 'ranges', ranges: parseRanges(trimmed) };
  if (trimmed.startsWith('{')) return { kind: 'set', items: parseItems(trimmed) };
  if (NUMBER.test(trimmed)) {
    const value = Number(trimmed);
    if (!Number.isFinite(value)) throw new ValueTextError(`number '${trimmed}' is out of range`);
    return { kind: 'scalar', value };
  }
  return { kind: 'text', value: trimmed };
}

function parseRanges(text: string): Range[] {
  if (!text.endsWith(']')) throw new ValueTextError(`ranges '${text}' lack the closing ']'`);
  const ranges: Range[] = [];
  for (const part of splitList(text)) {
    const match = RANGE.exec(part);
    if (match === null) throw new ValueTextError(`range '${part}' is not of the form begin-end`);
    const begin = Number(match[1]);
    const end = Number(match[2]);
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) {
      throw new ValueTextError(`range '${part}' has a bound beyond 2^53`);
    }
    if (begin > end) throw new ValueTextError(`range '${part}' begins after it ends`);
    ranges.push({ begin, end });
  }
  return ranges;
}

function parseItems(text: string): string[] {
  if (!text.endsWith('}')) throw new ValueTextError(`set '${text}' lacks the closing '}'`);
  return splitList(text);
}

/** The comma-separated, trimmed parts between the brackets; '[]' and '{}' have none. */
function splitList(text: string): string[] {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  const parts = inner.split(',').map((part) => part.trim());
  if (parts.includes('')) throw new ValueTextError(`'${text}' has an empty element`);
  return parts;
}
