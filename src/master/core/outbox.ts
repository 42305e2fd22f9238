// What the core decided that the outside world must hear: events for a
// framework's or an agent's stream, streams to close, registry writes, and
// changes for the operator event stream. The core never touches a socket or a
// disk; it appends here, and the shell drains the outbox in order (so a
// registry write is durable before any effect after it is seen). This is the
// one bus the scheduler streams, the agent streams, the registry and the
// operator event stream subscribe to.
import type { RegistryOperation } from '../../registry/index.js';
import type { AgentEvent, Event, TaskState, TaskStatus } from '../../wire/index.js';
import type { AgentRecord, FrameworkRecord, TaskRecord } from './records.js';

/**
 * A change to the cluster as the operator event stream reports it (WIRE §6.2).
 * Records are the live ones, rendered when the shell drains (the next
 * microtask); a task's state is taken at the change, since it moves fastest.
 */
export type ClusterChange =
  | { readonly kind: 'taskAdded'; readonly task: TaskRecord; readonly state: TaskState }
  | {
      readonly kind: 'taskUpdated';
      readonly task: TaskRecord;
      readonly state: TaskState;
      readonly status: TaskStatus;
    }
  | { readonly kind: 'frameworkAdded'; readonly framework: FrameworkRecord }
  | { readonly kind: 'frameworkUpdated'; readonly framework: FrameworkRecord }
  | { readonly kind: 'frameworkRemoved'; readonly framework: FrameworkRecord }
  | { readonly kind: 'agentAdded'; readonly agent: AgentRecord }
  | { readonly kind: 'agentRemoved'; readonly agent: AgentRecord };

export type MasterEffect =
  | { readonly kind: 'toFramework'; readonly streamId: string; readonly event: Event }
  | { readonly kind: 'toAgent'; readonly streamId: string; readonly event: AgentEvent }
  /** Ends a stream after what was sent on it. */
  | { readonly kind: 'closeStream'; readonly streamId: string }
  /** Must be durable before any later effect is delivered. */
  | { readonly kind: 'persist'; readonly operation: RegistryOperation }
  | { readonly kind: 'observed'; readonly change: ClusterChange };

/** An ordered queue of effects; `onFirst` tells the shell there is something to drain. */
export class Outbox {
  private effects: MasterEffect[] = [];

  constructor(private readonly onFirst: () => void = () => {}) {}

  push(effect: MasterEffect): void {
    this.effects.push(effect);
    if (this.effects.length === 1) this.onFirst();
  }

  /** Everything queued so far, oldest first; the outbox is empty afterwards. */
  take(): MasterEffect[] {
    const taken = this.effects;
    this.effects = [];
    return taken;
  }

  get size(): number {
    return this.effects.length;
  }
}
