// Renderings of the master's state with nothing kept from an earlier one: every sum made
// and every task and agent rendered afresh, as before renderings were kept
// (src/master/http/fragments.ts). What the kept ones are checked and measured against.
import type { ReadonlyBooks } from '../../src/master/core/books.js';
import type { AgentRecord, FrameworkRecord } from '../../src/master/core/records.js';
import type { ListMaker } from '../../src/master/http/render.js';
import { Resources } from '../../src/resources/index.js';
import { lazyList } from '../../src/runtime/index.js';

/** Streamed as the endpoints stream, but rendering every item afresh. */
export const freshList: ListMaker = (items, render) => lazyList(items, render);

/** The books with every sum made afresh, not kept. */
export function freshBooks(books: ReadonlyBooks): ReadonlyBooks {
  const offered = (holder: { readonly offers: ReadonlySet<string> }) =>
    Resources.sum([...holder.offers].flatMap((id) => books.offers.get(id)?.resources ?? []));
  return Object.create(books, {
    usedOn: {
      value: (agent: AgentRecord) =>
        Resources.sum([
          ...[...agent.tasks].filter((t) => !t.isRecovered).map((t) => t.resources),
          ...[...agent.executors.values()].map((e) => e.resources),
        ]),
    },
    offeredOn: { value: offered },
    usedBy: {
      value: (framework: FrameworkRecord) =>
        Resources.sum([
          ...[...framework.tasks.values()].filter((t) => !t.isRecovered).map((t) => t.resources),
          ...books.executorsOf(framework).map((e) => e.resources),
        ]),
    },
    offeredTo: { value: offered },
  }) as ReadonlyBooks;
}
