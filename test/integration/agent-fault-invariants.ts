// What must hold however often the agent is SIGKILLed (agent-faults.ts), as
// pure functions of what the loop recorded and observed, so each rule is
// tested on its own (agent-fault-invariants.test.ts).
import type { CheckpointedRun } from '../../src/agent/checkpoint.js';
import { isTerminalState, type TaskState } from '../../src/wire/index.js';
import type { RawTaskSpec, RawUpdate } from './raw-framework.js';

export const KILL_POINTS = ['launch', 'update', 'ack', 'kill', 'recovery', 'anytime'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

export const TASK_KINDS = ['ok', 'fail', 'long', 'killed', 'healthy', 'unhealthy'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface LoopTask {
  readonly kind: TaskKind;
  readonly spec: RawTaskSpec;
  /** For 'killed': how long after TASK_RUNNING the framework kills it. */
  readonly killAfterMs: number;
  /** Date.now() of the framework's first KILL, if it sent one. */
  killRequestedAtMs: number | undefined;
}

export interface TaskEvidence {
  /** The launched tasks. */
  readonly tasks: readonly LoopTask[];
  /** Every update as it came off the framework's stream, copies included. */
  readonly updates: readonly RawUpdate[];
  readonly acknowledgedAt: ReadonlyMap<string, number>;
  readonly agentKilledAt: readonly number[];
  /** What the tasks wrote themselves: started, and the exit status they chose. */
  readonly markers: {
    readonly started: ReadonlySet<string>;
    readonly exits: ReadonlyMap<string, number>;
  };
  /** Task id -> the container ids of its sandboxes on disk. */
  readonly sandboxes: ReadonlyMap<string, readonly string[]>;
}

const NEVER_RAN_STATES = new Set(['TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_UNREACHABLE']);

/** Every launched task ends exactly once, as it really ended, and no acknowledged update comes back unless the agent was restarted. */
export function checkTasks(evidence: TaskEvidence): string[] {
  const out: string[] = [];
  const byTask = new Map<string, RawUpdate[]>();
  for (const update of evidence.updates)
    byTask.set(update.taskIdValue, [...(byTask.get(update.taskIdValue) ?? []), update]);
  for (const task of evidence.tasks) {
    const id = task.spec.id;
    const updates = byTask.get(id) ?? [];
    const ends = updates.filter((u) => isTerminalState(u.state as TaskState));
    const last = ends[0];
    if (last === undefined) {
      out.push(`${id} (${task.kind}) never ended; last update ${updates.at(-1)?.state ?? 'none'}`);
      continue;
    }
    const distinct = new Map(ends.map((u) => [u.uuid ?? `no uuid ${u.state}`, u]));
    if (distinct.size > 1)
      out.push(
        `${id} (${task.kind}) ended ${distinct.size} ways: ${[...distinct.values()]
          .map((u) => `${u.state} (${u.source ?? '?'}, ${u.reason ?? '-'}: ${u.message ?? ''})`)
          .join('; ')}`,
      );
    out.push(...resentAfterAcknowledgement(id, updates, evidence));
    out.push(...endMatchesWhatRan(task, last, evidence));
    if (evidence.markers.started.has(id) && (evidence.sandboxes.get(id) ?? []).length === 0)
      out.push(`${id} ran but its sandbox is gone (gc_delay keeps it a week)`);
  }
  return out;
}

/**
 * A copy of an acknowledged update may come again only if the agent died in between
 * (the acknowledgement may have been lost with it); a living agent that resends one is wrong.
 */
function resentAfterAcknowledgement(
  id: string,
  updates: readonly RawUpdate[],
  evidence: TaskEvidence,
): string[] {
  const out: string[] = [];
  const seen = new Map<string, RawUpdate>();
  for (const update of updates) {
    if (update.uuid === undefined) continue;
    const first = seen.get(update.uuid);
    if (first === undefined) {
      seen.set(update.uuid, update);
      continue;
    }
    const ackedAt = evidence.acknowledgedAt.get(update.uuid);
    if (ackedAt === undefined || update.atMs <= ackedAt) continue;
    const isExplained = evidence.agentKilledAt.some((t) => t >= first.atMs && t <= update.atMs);
    if (!isExplained)
      out.push(
        `${id}: ${update.state} (${update.uuid}) came again ${update.atMs - ackedAt} ms after its acknowledgement, with no agent restart since it was first sent`,
      );
  }
  return out;
}

/** The end reported is the end the task had: its own exit, a kill, or never having run. */
function endMatchesWhatRan(task: LoopTask, end: RawUpdate, evidence: TaskEvidence): string[] {
  const id = task.spec.id;
  const what = `${id} (${task.kind}) ended ${end.state} (${end.source ?? '?'}, ${end.reason ?? '-'}: ${end.message ?? ''})`;
  const hasRun = evidence.markers.started.has(id);
  const exit = evidence.markers.exits.get(id);
  const isKilled = task.killRequestedAtMs !== undefined || task.kind === 'unhealthy';
  if (!hasRun) {
    // Lost before it started (the agent died with the launch): any end but a success.
    if (end.state === 'TASK_FINISHED') return [`${what} but never started`];
    return [];
  }
  if (NEVER_RAN_STATES.has(end.state)) return [`${what}, but it ran`];
  if (exit !== undefined) {
    const expected = exit === 0 ? 'TASK_FINISHED' : 'TASK_FAILED';
    if (end.state === expected) {
      if (exit !== 0 && !new RegExp(`status ${exit}\\b`).test(end.message ?? ''))
        return [`${what}: the message lacks its exit status ${exit}`];
      return [];
    }
    if (isKilled && end.state === 'TASK_KILLED') return [];
    return [`${what}, but it exited ${exit}`];
  }
  if (isKilled) return end.state === 'TASK_KILLED' ? [] : [`${what}, but it was killed`];
  return [`${what}, but it neither exited nor was killed`];
}

/** Each run the agent checkpointed reads whole: its task, every line of its updates. */
export function checkpointViolations(runs: readonly CheckpointedRun[], when: string): string[] {
  const out: string[] = [];
  for (const run of runs) {
    const where = `${when}: checkpointed run ${run.address.taskIdValue}/${run.address.containerIdValue}`;
    if (run.task === undefined) out.push(`${where} has no TaskInfo`);
    for (const unreadable of run.unreadable) out.push(`${where} unreadable: ${unreadable}`);
  }
  return out;
}

export interface LeakEvidence {
  readonly observed: {
    readonly processes: ReadonlyMap<string, readonly number[]>;
    readonly cgroups: ReadonlyMap<string, readonly string[]>;
  };
  /** Task id -> container ids of its sandboxes. */
  readonly sandboxes: ReadonlyMap<string, readonly string[]>;
  /** Ids of the tasks the loop made. */
  readonly known: ReadonlySet<string>;
  /** Task id -> the terminal state the framework saw. */
  readonly ended: ReadonlyMap<string, string>;
}

/** No process or cgroup of a container outlives its task, nor belongs to no task at all. */
export function leakViolations(evidence: LeakEvidence): string[] {
  const taskOf = new Map<string, string>();
  for (const [taskIdValue, containers] of evidence.sandboxes)
    for (const containerId of containers) taskOf.set(containerId, taskIdValue);
  const out: string[] = [];
  const check = (containerId: string, what: string) => {
    const taskIdValue = taskOf.get(containerId);
    if (taskIdValue === undefined || !evidence.known.has(taskIdValue))
      out.push(`${what} of container ${containerId}, which is no task's`);
    else {
      const state = evidence.ended.get(taskIdValue);
      if (state !== undefined) out.push(`${what} of ${taskIdValue}, which ended ${state}`);
    }
  };
  for (const [containerId, pids] of evidence.observed.processes)
    check(containerId, `process ${pids.join(', ')}`);
  for (const [containerId, paths] of evidence.observed.cgroups)
    check(containerId, `cgroup ${paths.join(', ')}`);
  return out;
}
