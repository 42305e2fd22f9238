// Each task's and agent's rendering in the large replies (`/master/state`, GET_STATE, …),
// kept from one reply to the next until the object changes, so that a reply at 10,000
// agents and 100,000 tasks is mostly concatenation (#8: ≤ 1 s for /master/state there).
//
// Whether an object changed is read from the object itself, not told by the core: each
// kind has a key, the few values its rendering depends on that can change (the rest of
// the record is readonly), compared by identity with the key the kept rendering was made
// under. So no change in the core can leave a stale rendering behind by forgetting to say
// so; a change the key does not see would be (records.ts says which fields are read how),
// and test/master/fragments.test.ts renders afresh and kept after every kind of change.

import type { KeptRenderings } from '../../wire/index.js';
import type { ReadonlyBooks as Books } from '../core/books.js';
import type { AgentRecord, TaskRecord } from '../core/records.js';

/** The forms a rendering is kept in: the legacy endpoints' JSON, and v1's JSON and protobuf. */
export type FragmentForm = 'legacy' | 'v1';

interface Kept {
  readonly key: readonly unknown[];
  legacy: string | undefined;
  v1: string | undefined;
  proto: Uint8Array | undefined;
}

/**
 * Renderings of objects of one kind (tasks, say), each kept while `keyOf` returns the same
 * values (===) for its object: one entry per object for every form, so the key must cover
 * what any form reads. Held weakly: a record the master forgets takes its renderings along.
 */
export class FragmentCache<T extends object, C> {
  private readonly kept = new WeakMap<T, Kept>();

  constructor(private readonly keyOf: (item: T, context: C) => readonly unknown[]) {}

  /** The cache as the writers use it for `form`, reading keys in `context` (the books). */
  in(context: C, form: FragmentForm): KeptRenderings<T> {
    return {
      json: (item, make) => {
        const kept = this.entry(item, context);
        const text = kept[form] ?? compact(make());
        kept[form] = text;
        return text;
      },
      proto: (item, make) => {
        const kept = this.entry(item, context);
        kept.proto ??= make();
        return kept.proto;
      },
    };
  }

  private entry(item: T, context: C): Kept {
    const key = this.keyOf(item, context);
    const kept = this.kept.get(item);
    if (kept !== undefined && isSameKey(kept.key, key)) return kept;
    const fresh: Kept = { key, legacy: undefined, v1: undefined, proto: undefined };
    this.kept.set(item, fresh);
    return fresh;
  }
}

/**
 * The same text in as little memory as V8 allows. A string JSON.stringify returns takes about
 * half as much again as its characters (measured in Node 20: 100 bytes more for a 190-character
 * task); the same text decoded from its UTF-8 is stored tightly. Kept for 100,000 tasks in
 * two forms, the difference is some 20 MB. Lossless: stringify escapes lone surrogates.
 */
function compact(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function isSameKey(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// A task's statuses are replaced by a list one longer or with its last status replaced
// (tasks.ts), and a status is not changed once recorded: the length and the last one tell
// whether the list changed.

/** What `legacyTask` and `v1Task` read that can change. */
export const taskKey = (task: TaskRecord): readonly unknown[] => [
  task.state,
  task.statuses.length,
  task.statuses.at(-1),
  task.statusUpdateState,
  task.statusUpdateUuid,
];

/**
 * What `legacyAgent` and `v1Agent` read that can change. The used and offered sums are
 * the books' kept sums, the same value while the tasks, executors and offers summed are
 * the same (books.ts).
 */
export const agentKey = (agent: AgentRecord, books: Books): readonly unknown[] => [
  agent.info,
  agent.ip,
  agent.link.state,
  agent.total,
  agent.version,
  agent.isDeactivated,
  agent.reregisteredTimeSec,
  agent.drain,
  agent.drain?.state,
  agent.drain?.startedAtSec,
  books.usedOn(agent),
  books.offeredOn(agent),
];

/** Every task's renderings, in every form. */
export const taskFragments = new FragmentCache<TaskRecord, undefined>(taskKey);
/** Every agent's renderings, in every form; keys read in the books. */
export const agentFragments = new FragmentCache<AgentRecord, Books>(agentKey);
