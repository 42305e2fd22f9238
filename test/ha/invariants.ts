// The invariants of issue #10, checked over the workload framework's journal
// and the tasks' own record of their starts (pure: liveness is an argument).
//   - every task launched is accounted for: running, or terminal with a reason;
//   - none ran twice, and none is reported as never run (or as running) when it
//     did (did not), and none reported terminal still runs;
//   - every acknowledged update stays acknowledged: its uuid is never delivered
//     again, and after a terminal update is acknowledged no update with a uuid
//     comes for that task, and reconciliation never says it is not terminal.
import type { JournalEntry } from './journal.js';

const TERMINAL = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);
/** Terminal states that say the task never started. */
const NEVER_STARTED = new Set(['TASK_DROPPED', 'TASK_ERROR', 'TASK_GONE']);

export interface InvariantInput {
  readonly journal: readonly JournalEntry[];
  /** Each task's starts, as it recorded them (`<task id> <pid>` lines). */
  readonly runs: readonly { readonly taskId: string; readonly pid: number }[];
  /** Whether a task process still runs. */
  readonly isAlive: (pid: number) => boolean;
  /** Long-running tasks must all be RUNNING at the end (no fault may cost one). */
  readonly longMustRun: boolean;
}

export interface TaskOutcome {
  readonly taskId: string;
  readonly isLong: boolean;
  /**
   * How the task ended, if the framework was told reliably (the first terminal
   * update with a uuid); otherwise the last update it got, reconciliation included.
   * A reconciliation answered after the end was acknowledged says GONE: the master
   * forgets a task once its end is acknowledged (WIRE §4.4), so it is not the outcome.
   */
  readonly last: Extract<JournalEntry, { kind: 'update' }> | undefined;
}

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

/** Each launched task and its last known update, in launch order. */
export function outcomes(journal: readonly JournalEntry[]): TaskOutcome[] {
  const tasks = new Map<string, { isLong: boolean; last: TaskOutcome['last'] }>();
  for (const entry of journal) {
    if (entry.kind === 'launch' && !tasks.has(entry.task_id))
      tasks.set(entry.task_id, { isLong: entry.long, last: undefined });
    if (entry.kind === 'update') {
      const task = tasks.get(entry.task_id);
      const hasEnded =
        task?.last !== undefined && task.last.uuid !== undefined && isTerminal(task.last.state);
      if (task !== undefined && !hasEnded) task.last = entry;
    }
  }
  return [...tasks].map(([taskId, { isLong, last }]) => ({ taskId, isLong, last }));
}

/** True once every task is settled: long ones RUNNING or terminal, short ones terminal. */
export function isSettled(journal: readonly JournalEntry[]): boolean {
  return outcomes(journal).every(
    ({ isLong, last }) =>
      last !== undefined && (isTerminal(last.state) || (isLong && last.state === 'TASK_RUNNING')),
  );
}

/** Every violated invariant, one line each; empty when all hold. */
export function checkInvariants(input: InvariantInput): string[] {
  const violations: string[] = [];
  const runs = new Map<string, number[]>();
  for (const { taskId, pid } of input.runs) runs.set(taskId, [...(runs.get(taskId) ?? []), pid]);
  const launched = outcomes(input.journal);
  const launchedIds = new Set(launched.map((t) => t.taskId));

  for (const [taskId, pids] of runs) {
    if (pids.length > 1)
      violations.push(`${taskId} ran ${pids.length} times (pids ${pids.join(', ')})`);
    if (!launchedIds.has(taskId)) violations.push(`${taskId} ran but was never launched`);
  }

  for (const { taskId, isLong, last } of launched) {
    const pids = runs.get(taskId) ?? [];
    if (last === undefined) {
      violations.push(`${taskId} is not accounted for: the framework never heard of it`);
      continue;
    }
    const { state } = last;
    const describe = `${taskId} ended ${state}${last.reason !== undefined ? ` (${last.reason})` : ''}`;
    if (isTerminal(state)) {
      if (state !== 'TASK_FINISHED' && last.reason === undefined && last.message === undefined)
        violations.push(`${describe} with no reason or message`);
      if (NEVER_STARTED.has(state) && pids.length > 0)
        violations.push(`${describe}, as if it never started, but it ran`);
      for (const pid of pids)
        if (input.isAlive(pid)) violations.push(`${describe} but still runs (pid ${pid})`);
      if (isLong && input.longMustRun) violations.push(`${describe}: a fault cost a running task`);
    } else if (state === 'TASK_RUNNING') {
      if (pids.length === 0) violations.push(`${taskId} is reported RUNNING but never ran`);
      else if (!pids.some(input.isAlive))
        violations.push(`${taskId} is reported RUNNING but is gone`);
      if (!isLong) violations.push(`${taskId} (short) is still RUNNING at the end`);
    } else violations.push(`${taskId} is not accounted for: last heard ${state}`);
  }

  violations.push(...acknowledgementViolations(input.journal));
  return violations;
}

function acknowledgementViolations(journal: readonly JournalEntry[]): string[] {
  const violations: string[] = [];
  /** uuid -> what was acknowledged. */
  const acknowledged = new Map<string, { taskId: string; state: string }>();
  /** Tasks whose terminal update was acknowledged, with that state. */
  const ended = new Map<string, string>();
  for (const entry of journal) {
    if (entry.kind === 'ack' && entry.ok) {
      acknowledged.set(entry.uuid, { taskId: entry.task_id, state: entry.state });
      if (isTerminal(entry.state) && !ended.has(entry.task_id))
        ended.set(entry.task_id, entry.state);
      continue;
    }
    if (entry.kind !== 'update') continue;
    const after = ended.get(entry.task_id);
    if (entry.uuid !== undefined) {
      const earlier = acknowledged.get(entry.uuid);
      if (earlier !== undefined)
        violations.push(
          `${entry.task_id}: update ${entry.state} (${entry.uuid}) delivered again after it was acknowledged`,
        );
      else if (after !== undefined)
        violations.push(
          `${entry.task_id}: update ${entry.state} (${entry.uuid}) came after its terminal ${after} was acknowledged`,
        );
    } else if (after !== undefined && !isTerminal(entry.state))
      violations.push(
        `${entry.task_id}: reconciled as ${entry.state} after its terminal ${after} was acknowledged`,
      );
  }
  return violations;
}

/** The journal lines of the tasks a violation names, for the failure message (bounded). */
export function explain(
  violations: readonly string[],
  journal: readonly JournalEntry[],
  maxLines = 60,
): string {
  const named = new Set(
    violations.map((v) => /^(\S+?):? /.exec(v)?.[1]).filter((id) => id !== undefined),
  );
  const t0 = journal[0]?.t ?? 0;
  const lines = journal
    .filter(
      (e) =>
        e.kind === 'subscribed' ||
        e.kind === 'started' ||
        ('task_id' in e && named.has(e.task_id)) ||
        (e.kind === 'accept' && e.task_ids.some((id) => named.has(id))),
    )
    .map((e) => `  +${e.t - t0} ms ${JSON.stringify({ ...e, t: undefined })}`);
  return lines.length > maxLines
    ? [...lines.slice(0, maxLines / 2), '  …', ...lines.slice(-maxLines / 2)].join('\n')
    : lines.join('\n');
}
