// A list in a large reply whose items are rendered only when written: the JSON writer
// (runtime/json-stream.ts) and the protobuf encoder (proto/codec.ts, encodePieces) both
// walk it item by item, so a 100,000-task GET_STATE never holds every rendered task at once.

/**
 * Where the writers find an item's rendering made for an earlier reply (the master keeps
 * one per task and agent until it changes, master/http/fragments.ts). `make` renders it
 * afresh; a cache calls it when it holds nothing valid for `item`, and may keep what it
 * returns. What comes back must be exactly what `make` would return now.
 */
export interface KeptRenderings<T> {
  /** The JSON text of the item as stringifyJson writes it. */
  json(item: T, make: () => string): string;
  /** The item encoded as its protobuf message (without tag or length). */
  proto(item: T, make: () => Uint8Array): Uint8Array;
}

/**
 * A list rendered as it is written. Written by JSON.stringify (a document that is not
 * streamed) it is the array of rendered items.
 */
export class LazyList<T> {
  constructor(
    readonly items: Iterable<T>,
    readonly render: (item: T) => unknown,
    readonly kept?: KeptRenderings<T>,
  ) {}

  toJSON(): unknown[] {
    return Array.from(this.items, (item) => this.render(item));
  }
}

export const lazyList = <T>(
  items: Iterable<T>,
  render: (item: T) => unknown,
  kept?: KeptRenderings<T>,
): LazyList<T> => new LazyList(items, render, kept);
