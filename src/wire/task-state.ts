/** Every TaskState, in Mesos' order (WIRE §4.1): the type and the schema both come from this list. */
export const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
] as const;

export type TaskState = (typeof TASK_STATES)[number];

/**
 * Which states may follow which (WIRE §4). LOST and GONE_BY_OPERATOR count as
 * terminal, as Mesos' code treats them, though an agent re-registering after a
 * partition may still report RUNNING with REASON_AGENT_REREGISTERED; that
 * resurrection is the master's decision, made explicitly, not a transition.
 */
const NEXT: Readonly<Record<TaskState, ReadonlySet<TaskState>>> = {
  TASK_STAGING: new Set<TaskState>([
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_KILLING',
    'TASK_FINISHED',
    'TASK_FAILED',
    'TASK_KILLED',
    'TASK_ERROR',
    'TASK_LOST',
    'TASK_DROPPED',
    'TASK_UNREACHABLE',
    'TASK_GONE',
    'TASK_GONE_BY_OPERATOR',
  ]),
  TASK_STARTING: new Set<TaskState>([
    'TASK_RUNNING',
    'TASK_KILLING',
    'TASK_FINISHED',
    'TASK_FAILED',
    'TASK_KILLED',
    'TASK_LOST',
    'TASK_DROPPED',
    'TASK_UNREACHABLE',
    'TASK_GONE',
    'TASK_GONE_BY_OPERATOR',
  ]),
  TASK_RUNNING: new Set<TaskState>([
    'TASK_RUNNING', // health and check updates repeat RUNNING
    'TASK_KILLING',
    'TASK_FINISHED',
    'TASK_FAILED',
    'TASK_KILLED',
    'TASK_LOST',
    'TASK_UNREACHABLE',
    'TASK_GONE',
    'TASK_GONE_BY_OPERATOR',
  ]),
  TASK_KILLING: new Set<TaskState>([
    'TASK_FINISHED',
    'TASK_FAILED',
    'TASK_KILLED',
    'TASK_LOST',
    'TASK_UNREACHABLE',
    'TASK_GONE',
    'TASK_GONE_BY_OPERATOR',
  ]),
  TASK_UNREACHABLE: new Set<TaskState>([
    'TASK_RUNNING',
    'TASK_FINISHED',
    'TASK_FAILED',
    'TASK_KILLED',
    'TASK_LOST',
    'TASK_GONE',
    'TASK_GONE_BY_OPERATOR',
  ]),
  TASK_FINISHED: new Set(),
  TASK_FAILED: new Set(),
  TASK_KILLED: new Set(),
  TASK_ERROR: new Set(),
  TASK_LOST: new Set(),
  TASK_DROPPED: new Set(),
  TASK_GONE: new Set(),
  TASK_GONE_BY_OPERATOR: new Set(),
  // A reconciliation answer, never a state a task is in.
  TASK_UNKNOWN: new Set(),
};

const TERMINAL: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

export function isTerminalState(state: TaskState): boolean {
  return TERMINAL.has(state);
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return NEXT[from].has(to);
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly taskId: string,
    readonly from: TaskState,
    readonly to: TaskState,
  ) {
    super(`task ${taskId}: no transition from ${from} to ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

/** Checks a transition against the table; throws InvalidTransitionError otherwise. */
export function assertTransition(taskId: string, from: TaskState, to: TaskState): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(taskId, from, to);
}
