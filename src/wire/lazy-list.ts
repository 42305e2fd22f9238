// A list in a large reply whose items are rendered only when written: the JSON writer
// (runtime/json-stream.ts) and the protobuf encoder (proto/codec.ts, encodePieces) both
// walk it item by item, so a 100,000-task GET_STATE never holds every rendered task at once.

/**
 * A list rendered as it is written. Written by JSON.stringify (a document that is not
 * streamed) it is the array of rendered items.
 */
export class LazyList<T> {
  constructor(
    readonly items: Iterable<T>,
    readonly render: (item: T) => unknown,
  ) {}

  toJSON(): unknown[] {
    return Array.from(this.items, (item) => this.render(item));
  }
}

export const lazyList = <T>(items: Iterable<T>, render: (item: T) => unknown): LazyList<T> =>
  new LazyList(items, render);
