// A string-keyed map whose versions share almost everything, for registry states: admitting
// the 10,000th agent copied a 9,999-entry map, and a cluster's registration went quadratic.
// Each version is a base map, never changed once a version holds it, and a small overlay
// of its own changes; past a bound (about 2·√n entries) the overlay is folded into a new
// base. An update then copies about √n entries, amortized, instead of n.

/** Marks a key the overlay removed from the base. */
const REMOVED: unique symbol = Symbol('removed');

/** The overlay grows to this many entries before it is folded into a new base. */
function overlayLimit(baseSize: number): number {
  return 32 + 2 * Math.sqrt(baseSize);
}

export class SharedMap<V> {
  private constructor(
    private readonly base: ReadonlyMap<string, V>,
    private readonly overlay: ReadonlyMap<string, V | typeof REMOVED>,
    readonly size: number,
  ) {}

  /** A version over `map`, which must not change from now on (it is shared, not copied). */
  static of<V>(map: ReadonlyMap<string, V>): SharedMap<V> {
    return new SharedMap(map, new Map(), map.size);
  }

  get(key: string): V | undefined {
    const changed = this.overlay.get(key);
    if (changed === REMOVED) return undefined;
    if (changed !== undefined || this.overlay.has(key)) return changed;
    return this.base.get(key);
  }

  has(key: string): boolean {
    if (this.overlay.has(key)) return this.overlay.get(key) !== REMOVED;
    return this.base.has(key);
  }

  /** This version with `key` set to `value`; this one is not changed. */
  set(key: string, value: V): SharedMap<V> {
    const overlay = new Map(this.overlay);
    overlay.set(key, value);
    return this.settle(overlay, this.has(key) ? this.size : this.size + 1);
  }

  /** This version without `key` (itself when it has no such key); this one is not changed. */
  delete(key: string): SharedMap<V> {
    if (!this.has(key)) return this;
    const overlay = new Map(this.overlay);
    if (this.base.has(key)) overlay.set(key, REMOVED);
    else overlay.delete(key);
    return this.settle(overlay, this.size - 1);
  }

  /** This version's keys, in no particular order. */
  *keys(): Generator<string> {
    for (const key of this.base.keys()) if (this.overlay.get(key) !== REMOVED) yield key;
    for (const [key, value] of this.overlay)
      if (value !== REMOVED && !this.base.has(key)) yield key;
  }

  /**
   * The keys whose entries may differ between `older` and this version, when both are
   * over the same base (the two overlays' keys); undefined when they are not, and only
   * a walk of every key can tell.
   */
  changedSince(older: unknown): Iterable<string> | undefined {
    if (!(older instanceof SharedMap) || older.base !== this.base) return undefined;
    const keys = new Set<string>(this.overlay.keys());
    for (const key of (older as SharedMap<V>).overlay.keys()) keys.add(key);
    return keys;
  }

  /** A plain Map of this version's entries: the base's, then the overlay's additions. */
  toMap(): Map<string, V> {
    const map = new Map(this.base);
    for (const [key, value] of this.overlay) {
      if (value === REMOVED) map.delete(key);
      else map.set(key, value);
    }
    return map;
  }

  private settle(overlay: Map<string, V | typeof REMOVED>, size: number): SharedMap<V> {
    if (overlay.size <= overlayLimit(this.base.size))
      return new SharedMap(this.base, overlay, size);
    const folded = new SharedMap(this.base, overlay, size).toMap();
    return new SharedMap(folded, new Map(), size);
  }
}
