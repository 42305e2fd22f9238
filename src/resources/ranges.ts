// Interval algebra for RANGES resources (ports). A value is a flat array of inclusive bounds
// [b0, e0, b1, e1, …], sorted, with overlapping and adjacent intervals merged, so that equal
// values have equal arrays and every operation is one linear sweep. A flat array rather than
// {begin, end} objects because the allocator adds and subtracts ports on every offer.
import type { Range } from '../wire/index.js';

/** Sorted, merged inclusive bounds: [b0, e0, b1, e1, …] with e_i + 1 < b_{i+1}. */
export type Bounds = readonly number[];

/** `bounds[i]` for an index the caller's loop has already checked against the length. */
function at(bounds: Bounds, i: number): number {
  return bounds[i] as number;
}

/** Appends [begin, end] to sorted `out`, merging it into the last interval when they touch. */
function append(out: number[], begin: number, end: number): void {
  const last = out.length - 1;
  if (last > 0 && begin <= at(out, last) + 1) {
    if (end > at(out, last)) out[last] = end;
  } else {
    out.push(begin, end);
  }
}

/** Normalises wire ranges (any order, possibly overlapping; begin <= end) to bounds. */
export function boundsFromRanges(ranges: readonly Range[]): Bounds {
  const sorted = [...ranges].sort((x, y) => x.begin - y.begin);
  const out: number[] = [];
  for (const range of sorted) append(out, range.begin, range.end);
  return out;
}

export function boundsToRanges(bounds: Bounds): Range[] {
  const ranges: Range[] = [];
  for (let i = 0; i < bounds.length; i += 2)
    ranges.push({ begin: at(bounds, i), end: at(bounds, i + 1) });
  return ranges;
}

export function unionBounds(a: Bounds, b: Bounds): Bounds {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && at(a, i) <= at(b, j))) {
      append(out, at(a, i), at(a, i + 1));
      i += 2;
    } else {
      append(out, at(b, j), at(b, j + 1));
      j += 2;
    }
  }
  return out;
}

/** `a` without the integers in `b`; intervals of `a` are split where `b` cuts into them. */
export function subtractBounds(a: Bounds, b: Bounds): Bounds {
  if (a.length === 0 || b.length === 0) return a;
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let begin = at(a, i);
    const end = at(a, i + 1);
    // Intervals of `b` wholly before this one cannot cut any later interval of `a` either.
    while (j < b.length && at(b, j + 1) < begin) j += 2;
    let k = j;
    while (begin <= end && k < b.length && at(b, k) <= end) {
      if (at(b, k) > begin) out.push(begin, at(b, k) - 1);
      begin = Math.max(begin, at(b, k + 1) + 1);
      k += 2;
    }
    if (begin <= end) out.push(begin, end);
  }
  return out;
}

/** True when every integer in `b` is in `a`. */
export function boundsContain(a: Bounds, b: Bounds): boolean {
  let i = 0;
  for (let j = 0; j < b.length; j += 2) {
    // Merged bounds: an interval of `b` is covered only if one interval of `a` covers it.
    while (i < a.length && at(a, i + 1) < at(b, j)) i += 2;
    if (i >= a.length || at(a, i) > at(b, j) || at(a, i + 1) < at(b, j + 1)) return false;
  }
  return true;
}

export function boundsEqual(a: Bounds, b: Bounds): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** '[31000-31099,31101-32000]' with `separator` ',' (agent flag syntax) or ', ' (Mesos' JSON). */
export function formatRanges(ranges: readonly Range[], separator: string): string {
  return `[${ranges.map((r) => `${r.begin}-${r.end}`).join(separator)}]`;
}
