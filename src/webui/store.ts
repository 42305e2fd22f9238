// One store for the page: the cluster from the event stream, the link's state,
// and the resource samples the overview charts. Components read it through
// useStore() and re-render on change; nothing else holds cluster state.
import { useEffect, useState } from 'preact/hooks';
import { applyAll, type Cluster, EMPTY, type OperatorEvent } from './model.js';
import type { LinkState } from './stream.js';

export interface Sample {
  readonly atMs: number;
  /** Per resource name: total, used (by tasks and executors), offered. */
  readonly byName: Readonly<Record<string, { total: number; used: number; offered: number }>>;
}

export interface StoreState {
  readonly cluster: Cluster;
  readonly link: LinkState;
  readonly samples: readonly Sample[];
  /** Events applied since load: lets tests and people see the page is live. */
  readonly events: number;
}

/** One hour of samples (one every 5 s, more when events arrive, never closer than 1 s). */
export const HISTORY_MS = 60 * 60 * 1000;

let state: StoreState = {
  cluster: EMPTY,
  link: { kind: 'connecting' },
  samples: [],
  events: 0,
};
const listeners = new Set<() => void>();
/** Events received and not yet applied. */
let queued: OperatorEvent[] = [];
/** A burst of events re-renders once; short enough that a change looks immediate. */
const FLUSH_DELAY_MS = 16;

function flush(): void {
  const events = queued;
  queued = [];
  set({ ...state, cluster: applyAll(state.cluster, events), events: state.events + events.length });
}

function set(next: StoreState): void {
  state = next;
  for (const listener of listeners) listener();
}

export const store = {
  get: () => state,
  /** Queues an event; events are applied together once per frame, then the page re-renders. */
  onEvent(event: OperatorEvent): void {
    if (event.type === 'HEARTBEAT') return;
    queued.push(event);
    if (queued.length === 1) setTimeout(flush, FLUSH_DELAY_MS);
  },
  onLink(link: LinkState): void {
    set({ ...state, link });
  },
  addSample(sample: Sample): void {
    const from = sample.atMs - HISTORY_MS;
    set({ ...state, samples: [...state.samples.filter((s) => s.atMs >= from), sample] });
  },
};

export function useStore(): StoreState {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return state;
}

/** Polls `load` every `intervalMs` while mounted; returns the latest value or error. */
export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
  deps: readonly unknown[] = [],
): { readonly value: T | undefined; readonly error: string | undefined } {
  const [result, setResult] = useState<{ value: T | undefined; error: string | undefined }>({
    value: undefined,
    error: undefined,
  });
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const value = await load(abort.signal);
        if (!abort.signal.aborted) setResult({ value, error: undefined });
      } catch (error) {
        if (!abort.signal.aborted)
          setResult((r) => ({
            value: r.value,
            error: error instanceof Error ? error.message : String(error),
          }));
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void tick(), intervalMs);
    };
    setResult({ value: undefined, error: undefined });
    void tick();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, deps);
  return result;
}
