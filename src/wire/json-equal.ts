// Equality of values read from JSON (plain objects, arrays, strings, numbers,
// booleans, null), as node:util's isDeepStrictEqual answers for them, without
// its prototype, symbol and cycle checks: every re-registering agent's info is
// compared with the one the books hold, 10,000 of them in a failover; and the
// fast check of an agent's SUBSCRIBE compares each task's parts with the previous
// task's (fast-subscribe.ts).

/** True when `a` and `b` are the same JSON value; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  // Plain objects have no enumerable keys but their own, so for-in needs no hasOwn per key
  // (half the cost); hasOwn tells only an absent key from one set to undefined. Read
  // through the prototype, an absent key gives undefined or a function (never equal to a
  // JSON value), except `__proto__`, which JSON.parse may give as an own key: asked apart.
  let count = 0;
  for (const key in left) {
    count++;
    const item = key === '__proto__' && !Object.hasOwn(right, key) ? undefined : right[key];
    if (item === undefined) {
      // A key set to undefined differs from a key absent, as for isDeepStrictEqual.
      if (left[key] !== undefined || !Object.hasOwn(right, key)) return false;
    } else if (!jsonEqual(left[key], item)) return false;
  }
  for (const _ in right) count--;
  return count === 0;
}
