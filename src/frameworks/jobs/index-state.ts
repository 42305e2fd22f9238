// One array index's lifecycle: its states, the legal transitions between them (one table), and
// what a task status does to it, retries with exponential backoff included. Pure.
import type { TaskState } from '../../wire/index.js';

/**
 * - `waiting`: to be launched (again), not before `notBeforeMs` (a retry's backoff);
 * - `staging`: launched (ACCEPT sent, persisted first), no status yet;
 * - `running`: the agent reported it starting or running;
 * - `succeeded` / `failed` (out of retries, or its run gave up) / `cancelled`: final.
 */
export type IndexPhase = 'waiting' | 'staging' | 'running' | 'succeeded' | 'failed' | 'cancelled';

const NEXT: Readonly<Record<IndexPhase, ReadonlySet<IndexPhase>>> = {
  // waiting → running / succeeded: a task replaced while its agent was unreachable comes back
  // before its replacement was launched (adopted), or comes back finished (#15).
  waiting: new Set(['staging', 'running', 'succeeded', 'cancelled', 'failed']),
  staging: new Set(['running', 'succeeded', 'failed', 'waiting', 'cancelled']),
  running: new Set(['succeeded', 'failed', 'waiting', 'cancelled']),
  succeeded: new Set(),
  failed: new Set(),
  cancelled: new Set(),
};

export class InvalidTransitionError extends Error {
  constructor(what: string, from: IndexPhase, to: IndexPhase) {
    super(`${what}: ${from} -> ${to} is not a legal transition`);
    this.name = 'InvalidTransitionError';
  }
}

/** What is persisted per index once it has left its first `waiting` (absent = never launched). */
export interface IndexRecord {
  readonly phase: IndexPhase;
  /** Failed attempts so far (a retry follows while attempts <= maxRetries). */
  readonly failures: number;
  /** Launches so far: the task id's last part, so every launch has its own id. */
  readonly launches: number;
  readonly notBeforeMs?: number;
  readonly taskId?: string;
  readonly agentId?: string;
  /** The agent's base URL, for its sandbox through /files. */
  readonly agentUrl?: string;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  /** The last status message (why it failed, for example). */
  readonly message?: string;
  /** Set when the framework killed it on purpose: its TASK_KILLED is not a failure. */
  readonly isKillWanted?: boolean;
  /** Since when the master reports the task's agent unreachable (TASK_UNREACHABLE), if it does. */
  readonly unreachableSinceMs?: number;
  /** Launches replacing a task whose agent stayed unreachable: not failures, not retries. */
  readonly replacements?: number;
  /**
   * Earlier tasks of this index, replaced while their agent was unreachable, that may still
   * run there: killed if they come back once a replacement was launched (at most
   * MAX_REPLACEMENTS, so the list is bounded).
   */
  readonly superseded?: readonly SupersededTask[];
}

export interface SupersededTask {
  readonly taskId: string;
  readonly agentId?: string;
  readonly agentUrl?: string;
}

/** An index is replaced at most this often; after that it waits for its agent (bounded list). */
export const MAX_REPLACEMENTS = 10;

export const INITIAL_INDEX: IndexRecord = Object.freeze({
  phase: 'waiting',
  failures: 0,
  launches: 0,
});

export function isFinal(phase: IndexPhase): boolean {
  return phase === 'succeeded' || phase === 'failed' || phase === 'cancelled';
}

export function isActive(phase: IndexPhase): boolean {
  return phase === 'staging' || phase === 'running';
}

export function transition(
  what: string,
  record: IndexRecord,
  to: IndexPhase,
  changes: Partial<IndexRecord> = {},
): IndexRecord {
  if (!NEXT[record.phase].has(to)) throw new InvalidTransitionError(what, record.phase, to);
  return { ...record, ...changes, phase: to };
}

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly backoffSeconds: number;
  readonly maxBackoffSeconds: number;
}

/** The wait before retry number `failures` (1 for the first): backoff · 2^(failures−1), capped. */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  const seconds = policy.backoffSeconds * 2 ** Math.max(0, failures - 1);
  return Math.min(seconds, policy.maxBackoffSeconds) * 1000;
}

/** How a task state bears on its index. */
export type StatusEffect =
  | { readonly kind: 'none' }
  | { readonly kind: 'running' }
  | { readonly kind: 'succeeded' }
  /** It ran and failed (or was lost): counts against maxRetries. */
  | { readonly kind: 'failed' }
  /** It never ran (dropped before launch, unknown to the master): launch again, no retry spent. */
  | { readonly kind: 'not-run' };

export function statusEffect(state: TaskState, wasRunning: boolean): StatusEffect {
  switch (state) {
    case 'TASK_STAGING':
    case 'TASK_STARTING':
    case 'TASK_RUNNING':
    case 'TASK_KILLING':
      return { kind: 'running' };
    case 'TASK_FINISHED':
      return { kind: 'succeeded' };
    case 'TASK_FAILED':
    case 'TASK_KILLED':
    case 'TASK_ERROR':
    case 'TASK_LOST':
    case 'TASK_GONE_BY_OPERATOR':
      return { kind: 'failed' };
    case 'TASK_DROPPED':
    case 'TASK_UNKNOWN':
    case 'TASK_GONE':
      // Unknown to the master (or, GONE, to its registered agent): never seen running, it was
      // never launched — the framework died between persisting the launch and the ACCEPT — so
      // it is launched again for free. Seen running, it is lost with whatever it did.
      return wasRunning ? { kind: 'failed' } : { kind: 'not-run' };
    case 'TASK_UNREACHABLE':
      return { kind: 'none' }; // Its agent may come back; wait for a final word.
    default:
      return { kind: 'none' };
  }
}

/**
 * The index after a status of its current task. A failure leads to `waiting` with a backoff
 * while retries are left, else to `failed`. Statuses of an index already final change nothing.
 */
export function applyStatus(
  what: string,
  record: IndexRecord,
  state: TaskState,
  message: string | undefined,
  policy: RetryPolicy,
  nowMs: number,
): IndexRecord {
  if (!isActive(record.phase)) return record;
  if (state === 'TASK_UNREACHABLE')
    // Its agent may come back: noted (replaced after disconnect.lostAfterSeconds), not a failure.
    return record.unreachableSinceMs === undefined
      ? { ...record, unreachableSinceMs: nowMs }
      : record;
  const effect = statusEffect(state, record.phase === 'running');
  const noted = message !== undefined ? { message } : {};
  // Any other word of the task means its agent is reachable again.
  const { unreachableSinceMs, ...reachable } = record;
  switch (effect.kind) {
    case 'none':
      return unreachableSinceMs === undefined ? record : reachable;
    case 'running':
      if (record.phase === 'running') return unreachableSinceMs === undefined ? record : reachable;
      return transition(what, reachable, 'running', { startedAtMs: nowMs, ...noted });
    case 'succeeded':
      return transition(what, reachable, 'succeeded', { finishedAtMs: nowMs, ...noted });
    case 'not-run':
      if (record.isKillWanted === true)
        return transition(what, reachable, 'cancelled', { finishedAtMs: nowMs, ...noted });
      return transition(what, reachable, 'waiting', { notBeforeMs: nowMs, ...noted });
    case 'failed': {
      if (record.isKillWanted === true)
        return transition(what, reachable, 'cancelled', { finishedAtMs: nowMs, ...noted });
      const failures = record.failures + 1;
      const why = `${state}${message !== undefined ? `: ${message}` : ''}`;
      if (failures > policy.maxRetries)
        return transition(what, reachable, 'failed', {
          failures,
          finishedAtMs: nowMs,
          message: why,
        });
      return transition(what, reachable, 'waiting', {
        failures,
        notBeforeMs: nowMs + backoffMs(policy, failures),
        message: why,
      });
    }
  }
}
