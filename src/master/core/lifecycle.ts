// The lifecycle of each entity the master keeps, as a table of which state may
// follow which (STYLE.md, "One state machine per entity"). Each entity's module
// changes its state only through `transition`, which refuses anything the
// table does not list: an impossible transition is a bug in the core, so it
// throws an AssertionError and the daemon exits (the HTTP layer maps it), as
// Mesos' CHECKs do. Tasks have their own table in wire/task-state.ts, since
// agents and frameworks see task states too.
import { AssertionError } from 'node:assert';

/**
 * recovered: known from an agent's report (or the registry) after a master
 * restart, waiting for its scheduler; connected: subscribed on a live stream;
 * disconnected: its stream broke, within its failover timeout; removed: torn
 * down, or its failover timeout expired. Frameworks never come back from removed.
 */
export type FrameworkState = 'recovered' | 'connected' | 'disconnected' | 'removed';

export const FRAMEWORK_NEXT: Readonly<Record<FrameworkState, readonly FrameworkState[]>> = {
  recovered: ['connected', 'removed'],
  // connected -> connected: a failover replaces the stream.
  connected: ['connected', 'disconnected', 'removed'],
  disconnected: ['connected', 'removed'],
  removed: [],
};

/**
 * recovered: admitted before a master restart and not back yet; connected:
 * subscribed on a live stream; disconnected: its link broke, within the ping
 * timeouts; unreachable: silent too long, its tasks reported (it may return);
 * gone: the operator said it will never return (MARK_AGENT_GONE).
 */
export type AgentState = 'recovered' | 'connected' | 'disconnected' | 'unreachable' | 'gone';

export const AGENT_NEXT: Readonly<Record<AgentState, readonly AgentState[]>> = {
  recovered: ['connected', 'unreachable', 'gone'],
  connected: ['connected', 'disconnected', 'gone'],
  disconnected: ['connected', 'unreachable', 'gone'],
  unreachable: ['connected', 'gone'],
  gone: [],
};

/** An offer is outstanding until exactly one of these ends it. */
export type OfferState = 'outstanding' | 'accepted' | 'declined' | 'rescinded' | 'expired';

export const OFFER_NEXT: Readonly<Record<OfferState, readonly OfferState[]>> = {
  outstanding: ['accepted', 'declined', 'rescinded', 'expired'],
  accepted: [],
  declined: [],
  rescinded: [],
  expired: [],
};

/** Throws (a core bug) unless the table lets `from` become `to`. */
export function checkTransition<S extends string>(
  table: Readonly<Record<S, readonly S[]>>,
  what: string,
  from: S,
  to: S,
): void {
  if (!table[from].includes(to))
    throw new AssertionError({
      message: `${what}: no transition from ${from} to ${to}`,
      actual: from,
      expected: to,
      operator: 'transition',
    });
}
