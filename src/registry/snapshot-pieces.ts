// A registry snapshot's pieces (codec.ts snapshotPieces: the same text, cut after the
// same entries), kept from one write to the next. Rebuilding them for every write made
// one write at 10,000 agents cost ~9 ms of CPU however little it changed: the agents
// copied into a plain Map, 10,000 ids sorted, 10,000 piece strings made and their keys
// hashed. Here each list keeps its ids in order and one piece object per entry, reused
// while the entry is the same value, and a list whose source is the object it was last
// time is taken whole. Unchanged entries are then the same piece objects write after
// write, which lets chunk-set.ts find an unchanged chunk by its pieces, without joining
// and looking up its text.

import type { AgentInfo } from '../wire/index.js';
import type { Piece } from './chunk-set.js';
import { keyHash } from './chunk-set.js';
import { canonicalJson, encodedEntry, SNAPSHOT_FORMAT } from './codec.js';
import {
  type AgentDrainInfo,
  agentMaps,
  type QuotaConfig,
  type RegisteredFramework,
  type RegistryState,
} from './state.js';

/** A list's entries as the state holds them, read in place (never copied). */
interface ListSource<V> {
  has(id: string): boolean;
  get(id: string): V | undefined;
  keys(): Iterable<string>;
  /** The ids that may have changed since `older` (an earlier source), if it can tell. */
  changedSince?(older: object): Iterable<string> | undefined;
}

/** Ids added or removed at once past which the order is rebuilt rather than spliced. */
const MAX_SPLICES = 64;

/** A state's set as a list source whose every value is its id. */
const setSource = (set: ReadonlySet<string>): ListSource<string> => ({
  has: (id) => set.has(id),
  get: (id) => (set.has(id) ? id : undefined),
  keys: () => set.keys(),
});

interface Entry<V> {
  readonly id: string;
  readonly value: V;
  /** The entry's JSON, as the list holds it. */
  readonly json: string;
  /** `,<json>`: the entry anywhere but first in its list. */
  readonly piece: Piece;
}

/** One list of the snapshot (`"agents":[…]`): its ids in order and a piece per entry. */
class ListPieces<V> {
  private source: object | undefined;
  /** Ids in code-unit order (canonicalJson's, and the default sort's). */
  private sorted: string[] = [];
  /** Every id of `sorted`, with what its entry was made from. */
  private readonly entries = new Map<string, Entry<V>>();
  /** The pieces of every entry but the first, in order. */
  private rest: Piece[] = [];
  /** The first entry's piece: it begins with whatever JSON comes before it. */
  private first: Piece | undefined;

  constructor(
    /** Each entry's key starts with this (codec.ts snapshotPieces' keys). */
    private readonly keyPrefix: string,
    private readonly encode: (id: string, value: V) => string,
  ) {}

  /**
   * The list's pieces after `glue` (the JSON before its first entry), appended to `out`;
   * false, adding none, when it is empty. `identity` is the state's object behind `source`:
   * the same one as last time means the same entries.
   */
  appendTo(out: Piece[], glue: string, identity: object, source: ListSource<V>): boolean {
    if (identity !== this.source) {
      const changed = this.source === undefined ? undefined : source.changedSince?.(this.source);
      if (changed === undefined || !this.update(source, changed)) {
        this.reorder(source);
        this.rebuild(source);
      }
      this.source = identity;
    }
    const firstId = this.sorted[0];
    if (firstId === undefined) return false;
    const text = `${glue}${this.entries.get(firstId)?.json}`;
    if (this.first?.text !== text) this.first = { text, hash: keyHash(this.keyPrefix + firstId) };
    out.push(this.first);
    for (const piece of this.rest) out.push(piece);
    return true;
  }

  /**
   * The entries of `changed` ids made again, and the order spliced for the few added
   * or removed: a write that changed a few entries costs a few, not a walk of all.
   * False, having changed nothing, when too many were added or removed to splice.
   */
  private update(source: ListSource<V>, changed: Iterable<string>): boolean {
    const remade: Entry<V>[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    for (const id of changed) {
      const known = this.entries.get(id);
      if (!source.has(id)) {
        if (known !== undefined) removed.push(id);
        continue;
      }
      const value = source.get(id) as V;
      if (known === undefined) added.push(id);
      if (known === undefined || known.value !== value) remade.push(this.entryOf(id, value));
    }
    if (added.length + removed.length > MAX_SPLICES) return false;
    for (const entry of remade) this.entries.set(entry.id, entry);
    // `rest` holds the piece of every entry but the first: an entry that becomes or stops
    // being the first loses or gains its piece there.
    for (const id of removed) {
      const at = indexOf(this.sorted, id);
      this.sorted.splice(at, 1);
      this.rest.splice(Math.max(0, at - 1), 1);
      this.entries.delete(id);
    }
    for (const id of added) {
      const at = insertionPoint(this.sorted, id);
      this.sorted.splice(at, 0, id);
      const second = this.sorted[1];
      if (at > 0) this.rest.splice(at - 1, 0, (this.entries.get(id) as Entry<V>).piece);
      else if (second !== undefined)
        this.rest.unshift((this.entries.get(second) as Entry<V>).piece);
    }
    for (const entry of remade) {
      const at = indexOf(this.sorted, entry.id);
      if (at > 0) this.rest[at - 1] = entry.piece;
    }
    return true;
  }

  private entryOf(id: string, value: V): Entry<V> {
    const json = this.encode(id, value);
    return { id, value, json, piece: { text: `,${json}`, hash: keyHash(this.keyPrefix + id) } };
  }

  /** `sorted` for the source's ids: the ids added sorted and merged in, the removed dropped. */
  private reorder(source: ListSource<V>): void {
    const added: string[] = [];
    let present = 0;
    for (const id of source.keys()) {
      if (this.entries.has(id)) present++;
      else added.push(id);
    }
    if (added.length === 0 && present === this.entries.size) return;
    let kept = this.sorted;
    if (present < this.entries.size)
      kept = kept.filter((id) => {
        if (source.has(id)) return true;
        this.entries.delete(id);
        return false;
      });
    added.sort();
    this.sorted = mergeSorted(kept, added);
  }

  /** Each entry's piece, made again only for a value that is not the one it was made from. */
  private rebuild(source: ListSource<V>): void {
    const rest: Piece[] = [];
    for (let i = 0; i < this.sorted.length; i++) {
      const id = this.sorted[i] as string;
      const value = source.get(id) as V;
      let entry = this.entries.get(id);
      if (entry === undefined || entry.value !== value) {
        entry = this.entryOf(id, value);
        this.entries.set(id, entry);
      }
      if (i > 0) rest.push(entry.piece);
    }
    this.rest = rest;
  }
}

/** Where `id` goes in `sorted` to keep it in order. */
function insertionPoint(sorted: readonly string[], id: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Where `id`, which `sorted` holds, is. */
function indexOf(sorted: readonly string[], id: string): number {
  const at = insertionPoint(sorted, id);
  if (sorted[at] !== id) throw new Error(`snapshot pieces: ${id} is not in the order`);
  return at;
}

function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const merged: string[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as string;
    const y = b[j] as string;
    if (x < y) {
      merged[k++] = x;
      i++;
    } else {
      merged[k++] = y;
      j++;
    }
  }
  while (i < a.length) merged[k++] = a[i++] as string;
  while (j < b.length) merged[k++] = b[j++] as string;
  return merged;
}

/** A whole value's JSON (the schedule…), made again only for a new value. */
class WholeText {
  private value: unknown = Symbol('none');
  private text = '';

  of(value: unknown): string {
    if (value !== this.value) {
      this.text = canonicalJson(value);
      this.value = value;
    }
    return this.text;
  }
}

/**
 * snapshotPieces(generation, state) for state after state, each call reusing what the
 * last one made for the entries that did not change. Joined, the pieces are exactly
 * encodeSnapshot's text, cut after the same entries with the same hashes.
 */
export class SnapshotPieceCache {
  private readonly agents = new ListPieces<AgentInfo>('a', (_id, agent) => encodedEntry(agent));
  private readonly deactivated = new ListPieces<string>('d', (id) => JSON.stringify(id));
  private readonly downMachines = new WholeText();
  private readonly draining = new ListPieces<AgentDrainInfo>('r', (id, drain) =>
    canonicalJson({ id, ...drain }),
  );
  private readonly frameworks = new ListPieces<RegisteredFramework>('f', (_id, framework) =>
    encodedEntry(framework),
  );
  private readonly gone = new ListPieces<string>('g', (id) => JSON.stringify(id));
  private readonly quotas = new ListPieces<QuotaConfig>('q', (_role, quota) => encodedEntry(quota));
  private readonly removedFrameworks = new WholeText();
  private readonly schedule = new WholeText();
  private readonly unreachable = new ListPieces<number>('u', (id, since) =>
    canonicalJson({ id, since_sec: since }),
  );
  private readonly weights = new ListPieces<number>('w', (role, weight) =>
    canonicalJson({ role, weight }),
  );
  private last: Piece | undefined;

  pieces(generation: number, state: RegistryState): Piece[] {
    const maps = agentMaps(state);
    const out: Piece[] = [];
    // In canonicalJson's order (keys sorted by code point), as snapshotPieces.
    let glue = `{"format":${SNAPSHOT_FORMAT},"generation":${generation},"state":{"agents":[`;
    const list = <V>(pieces: ListPieces<V>, identity: object, source: ListSource<V>) => {
      if (pieces.appendTo(out, glue, identity, source)) glue = ']';
      else glue += ']';
    };
    list(this.agents, maps.agents, maps.agents);
    glue += ',"deactivated_agents":[';
    list(this.deactivated, state.deactivatedAgents, setSource(state.deactivatedAgents));
    glue += `,"down_machines":${this.downMachines.of(state.downMachines)},"draining_agents":[`;
    list(this.draining, state.drainingAgents, state.drainingAgents);
    glue += ',"frameworks":[';
    list(this.frameworks, state.frameworks, state.frameworks);
    glue += ',"gone_agents":[';
    list(this.gone, state.goneAgents, setSource(state.goneAgents));
    glue += ',"quotas":[';
    list(this.quotas, state.quotas, state.quotas);
    glue += `,"removed_frameworks":${this.removedFrameworks.of(state.removedFrameworks)}`;
    glue += `,"schedule":${this.schedule.of(state.schedule)},"unreachable_agents":[`;
    list(this.unreachable, maps.unreachableAgents, maps.unreachableAgents);
    glue += ',"weights":[';
    list(this.weights, state.weights, state.weights);
    const text = `${glue}}}`;
    if (this.last?.text !== text) this.last = { text, hash: keyHash('') };
    out.push(this.last);
    return out;
  }
}
