// Where a task runs, from the master's /master/tasks and /master/slaves: the
// agent to call and the container to call it about. Pure: `agora task exec`
// and `agora task attach` fetch the pages, this reads them.
import { assertNever } from '../wire/index.js';

/** What /master/tasks says of a task (the fields read here). */
export interface ListedTask {
  readonly id: string;
  readonly framework_id: string;
  readonly slave_id: string;
  readonly state: string;
  readonly statuses?: readonly {
    readonly state?: string;
    readonly container_status?: { readonly container_id?: { readonly value?: string } };
  }[];
}

export type TaskTarget =
  | { readonly kind: 'found'; readonly agentIdValue: string; readonly containerIdValue: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'notRunning'; readonly state: string }
  | { readonly kind: 'noContainer' }
  | { readonly kind: 'ambiguous'; readonly frameworkIds: readonly string[] };

/** States in which a task has a container to enter (Mesos' CLI takes the same). */
const RUNNING_STATES: ReadonlySet<string> = new Set([
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
]);

/**
 * The running task named `taskIdValue` among `tasks` (every framework's): its
 * agent and the container id of its latest status that carries one.
 */
export function findTaskTarget(tasks: readonly ListedTask[], taskIdValue: string): TaskTarget {
  const named = tasks.filter((task) => task.id === taskIdValue);
  if (named.length === 0) return { kind: 'missing' };
  const running = named.filter((task) => RUNNING_STATES.has(task.state));
  const [task, ...others] = running;
  if (task === undefined) return { kind: 'notRunning', state: named[0]?.state ?? 'unknown' };
  if (others.length > 0)
    return { kind: 'ambiguous', frameworkIds: running.map((t) => t.framework_id) };
  const containerIdValue = [...(task.statuses ?? [])]
    .reverse()
    .map((status) => status.container_status?.container_id?.value)
    .find((value) => value !== undefined && value !== '');
  if (containerIdValue === undefined) return { kind: 'noContainer' };
  return { kind: 'found', agentIdValue: task.slave_id, containerIdValue };
}

/** The base URL of an agent from its libprocess pid (`slave(1)@10.0.0.5:5051`). */
export function agentUrlOfPid(pid: string, protocol = 'http:'): URL | undefined {
  const at = pid.lastIndexOf('@');
  if (at < 0) return undefined;
  try {
    // The agent speaks what its master speaks (TLS is on cluster-wide or not at all).
    const url = new URL(`${protocol}//${pid.slice(at + 1)}`);
    return url.port === '' ? undefined : url;
  } catch {
    return undefined;
  }
}

/** One line saying why there is nothing to enter, for a TaskTarget other than `found`. */
export function describeMiss(target: Exclude<TaskTarget, { kind: 'found' }>, taskIdValue: string) {
  switch (target.kind) {
    case 'missing':
      return `no task '${taskIdValue}' is known to the master`;
    case 'notRunning':
      return `task '${taskIdValue}' is not running (${target.state})`;
    case 'noContainer':
      return `task '${taskIdValue}' has no container id in its statuses yet`;
    case 'ambiguous':
      return `task id '${taskIdValue}' is running in several frameworks (${target.frameworkIds.join(', ')})`;
    default:
      return assertNever(target);
  }
}
