// Algebra for SET resources: a value is a sorted array of distinct items, so that equal sets
// have equal arrays and union, difference and inclusion are linear merges.

export type Items = readonly string[];

export function itemsFromList(list: readonly string[]): Items {
  return [...new Set(list)].sort();
}

export function unionItems(a: Items, b: Items): Items {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as string;
    const y = b[j] as string;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  for (; i < a.length; i++) out.push(a[i] as string);
  for (; j < b.length; j++) out.push(b[j] as string);
  return out;
}

export function subtractItems(a: Items, b: Items): Items {
  if (b.length === 0) return a;
  const remove = new Set(b);
  return a.filter((item) => !remove.has(item));
}

export function itemsContain(a: Items, b: Items): boolean {
  if (b.length > a.length) return false;
  let i = 0;
  for (const item of b) {
    while (i < a.length && (a[i] as string) < item) i++;
    if (a[i] !== item) return false;
    i++;
  }
  return true;
}

export function itemsEqual(a: Items, b: Items): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** '{a,b}' with `separator` ',' (agent flag syntax) or '{a, b}' with ', ' (Mesos' JSON). */
export function formatItems(items: readonly string[], separator: string): string {
  return `{${items.join(separator)}}`;
}
