// One running copy of an app: a Mesos task the services framework launched.
// Its state follows the task's, through one table of legal moves (pure).
import { isTerminalState, type TaskState } from '../../wire/index.js';
import type { UnreachableStrategy } from './app-definition.js';
import type { Site } from './constraints.js';

/**
 * The live states an instance is kept in; a terminal update removes it. An
 * unreachable one is kept too: its agent may come back with it running.
 */
export type InstanceState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_UNREACHABLE';

const NEXT: Readonly<Record<InstanceState, ReadonlySet<InstanceState>>> = {
  TASK_STAGING: new Set([
    'TASK_STAGING',
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_KILLING',
    'TASK_UNREACHABLE',
  ]),
  TASK_STARTING: new Set(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_UNREACHABLE']),
  TASK_RUNNING: new Set(['TASK_RUNNING', 'TASK_KILLING', 'TASK_UNREACHABLE']),
  TASK_KILLING: new Set(['TASK_KILLING', 'TASK_UNREACHABLE']),
  // The agent came back: the task is in whatever state it reached meanwhile.
  TASK_UNREACHABLE: new Set([
    'TASK_STAGING',
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_KILLING',
    'TASK_UNREACHABLE',
  ]),
};

export interface Instance extends Site {
  /** The Mesos task id: `<app label>.<unique>`, as Marathon names tasks. */
  readonly id: string;
  readonly appId: string;
  /** The app's lastConfigChangeAt when launched: a rolling deploy replaces older ones. */
  readonly configVersion: string;
  readonly agentId: string;
  readonly ip: string;
  readonly ports: readonly number[];
  readonly hasHealthCheck: boolean;
  readonly state: InstanceState;
  /** The latest health check result; undefined until the first one. */
  readonly healthy: boolean | undefined;
  /** We asked for it to go (scale down, deploy, delete); its end is no failure. */
  readonly isKillWanted: boolean;
  readonly killSentAtMs: number | undefined;
  readonly stagedAtMs: number;
  readonly startedAtMs: number | undefined;
  /** Its app's readiness check answered ready (checked during deployments only). */
  readonly isReady?: boolean;
  /** When its agent was first reported unreachable; set only in TASK_UNREACHABLE. */
  readonly unreachableSinceMs?: number;
}

export type Transition =
  | { readonly kind: 'moved'; readonly instance: Instance }
  | { readonly kind: 'ended'; readonly state: TaskState }
  | { readonly kind: 'refused'; readonly from: InstanceState; readonly to: TaskState };

/** Where a task's new state takes the instance; a refused move leaves it as it was. */
export function transition(
  instance: Instance,
  to: TaskState,
  healthy: boolean | undefined,
  nowMs: number,
): Transition {
  if (isTerminalState(to) || to === 'TASK_UNKNOWN') return { kind: 'ended', state: to };
  const next = to as InstanceState;
  if (!(next in NEXT) || !NEXT[instance.state].has(next))
    return { kind: 'refused', from: instance.state, to };
  const { unreachableSinceMs: _, ...reached } = instance;
  if (next === 'TASK_UNREACHABLE')
    return {
      kind: 'moved',
      instance: {
        ...instance,
        state: next,
        // No health check reaches it: its last result says nothing now.
        healthy: undefined,
        unreachableSinceMs: instance.unreachableSinceMs ?? nowMs,
      },
    };
  return {
    kind: 'moved',
    instance: {
      ...reached,
      state: next,
      healthy: healthy ?? instance.healthy,
      startedAtMs: instance.startedAtMs ?? (next === 'TASK_RUNNING' ? nowMs : instance.startedAtMs),
    },
  };
}

/** Where an unreachable instance stands under its app's strategy; `reachable` for any other. */
export function unreachablePhase(
  instance: Instance,
  strategy: UnreachableStrategy,
  nowMs: number,
): 'reachable' | 'unreachable' | 'inactive' | 'expunged' {
  if (instance.state !== 'TASK_UNREACHABLE') return 'reachable';
  if (strategy === 'disabled') return 'unreachable';
  const forMs = nowMs - (instance.unreachableSinceMs ?? nowMs);
  if (forMs >= strategy.expungeAfterSeconds * 1000) return 'expunged';
  if (forMs >= strategy.inactiveAfterSeconds * 1000) return 'inactive';
  return 'unreachable';
}

/** Healthy as Marathon counts it: running, and passing its health check if it has one. */
export function isHealthy(instance: Instance): boolean {
  return (
    instance.state === 'TASK_RUNNING' &&
    !instance.isKillWanted &&
    (!instance.hasHealthCheck || instance.healthy === true)
  );
}

/**
 * Counts toward a deployment: healthy, and, when the app has a readiness check,
 * ready (Marathon: "a deployment will only finish when all new tasks are ready").
 */
export function isDeployed(instance: Instance, needsReadiness: boolean): boolean {
  return isHealthy(instance) && (!needsReadiness || instance.isReady === true);
}

/** A failure that earns the app a launch delay: its own process ended (not a lost agent). */
export function isCrash(state: TaskState): boolean {
  return (
    state === 'TASK_FAILED' ||
    state === 'TASK_FINISHED' ||
    state === 'TASK_KILLED' ||
    state === 'TASK_ERROR'
  );
}
