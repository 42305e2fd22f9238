// Mutating JSON: paths into a value, copies with one node replaced or removed, values of
// another kind, deep nesting, and random JSON in a given vocabulary, all from a seeded PRNG.
import type { Random } from '../../../src/sim/index.js';
import type { Json } from './calls.js';

/** Where a node is in a JSON value: keys and indices from the root. */
export type Path = readonly (string | number)[];

export function kindOf(value: Json): 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as 'object' | 'string' | 'number' | 'boolean';
}

/** Every path into `value`, parents before children. */
export function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(value))
    value.forEach((item, i) => {
      out.push([...prefix, i], ...pathsOf(item, [...prefix, i]));
    });
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value))
      out.push([...prefix, key], ...pathsOf(item, [...prefix, key]));
  return out;
}

export function getAt(value: Json, path: Path): Json {
  let node: Json = value;
  for (const part of path) {
    if (Array.isArray(node) && typeof part === 'number') node = node[part] ?? null;
    else if (node !== null && typeof node === 'object' && !Array.isArray(node))
      node = node[String(part)] ?? null;
    else return null;
  }
  return node;
}

/** A copy of `value` with the node at `path` replaced (or removed, for `undefined`). */
export function withAt(value: Json, path: Path, replacement: Json | undefined): Json {
  const copy = structuredClone(value);
  const parent = getAt(copy, path.slice(0, -1));
  const last = path[path.length - 1];
  if (Array.isArray(parent) && typeof last === 'number') {
    if (replacement === undefined) parent.splice(last, 1);
    else parent[last] = replacement;
  } else if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) {
    if (replacement === undefined) delete parent[String(last)];
    else parent[String(last)] = replacement;
  }
  return copy;
}

export function nested(depth: number): Json {
  let value: Json = 'deep';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

export const OTHER_KINDS: Readonly<Record<ReturnType<typeof kindOf>, readonly Json[]>> = {
  null: [7, 'x', [], {}],
  boolean: [7, {}, [], 'maybe'],
  number: [{}, [], true, 'seven'],
  string: [7, true, [], {}],
  array: [{}, 'x', 7],
  object: [[], 'x', 7, true],
};

/** Where an oversized string is valid: opaque bytes, free-form ContainerInfo, capabilities. */
export function takesAnyString(path: Path): boolean {
  return (
    path[path.length - 1] === 'data' || path.includes('container') || path.includes('capabilities')
  );
}

export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** Random JSON of the calls' vocabulary: keys and enum names real clients use, values anything. */
export function randomJson(random: Random, vocabulary: readonly string[], depth: number): Json {
  const roll = random();
  if (depth <= 0 || roll < 0.3) {
    const leaves: Json[] = [
      null,
      true,
      -1,
      1e308,
      0.5,
      '',
      pick(random, vocabulary),
      'x'.repeat(Math.floor(random() * 300)),
      '\u0000\uffff\ud800',
    ];
    return pick(random, leaves);
  }
  if (roll < 0.55)
    return Array.from({ length: Math.floor(random() * 4) }, () =>
      randomJson(random, vocabulary, depth - 1),
    );
  const object: Record<string, Json> = {};
  for (let i = Math.floor(random() * 5); i > 0; i--)
    object[pick(random, vocabulary)] = randomJson(random, vocabulary, depth - 1);
  return object;
}

export function vocabularyOf(values: readonly Json[]): string[] {
  const words = new Set<string>(['type', 'value', 'role', 'roles', 'name']);
  const visit = (value: Json): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object')
      for (const [key, item] of Object.entries(value)) {
        words.add(key);
        if (typeof item === 'string' && /^[A-Z_]+$/.test(item)) words.add(item);
        visit(item);
      }
  };
  values.forEach(visit);
  return [...words];
}
