// The rules of Mesos' checks and health checks (docs/health-checks.md), as the
// built-in executors apply them, with no I/O: given a probe's outcome and the
// time, what to report and whether to kill. task-checks.ts runs the probes
// and the timers and acts on these decisions.
//
// Health checks: a failure within the grace period (counted from the start of
// checking, delay included) is ignored until the first success; after that
// every failure is reported unhealthy (TASK_RUNNING, healthy false, reason
// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), and the task is killed once
// `consecutive_failures` failures are reached. A success is reported only
// when it changes something: the first one, and the first after failures.
//
// Checks: the result is reported (check_status, REASON_TASK_CHECK_STATUS_UPDATED)
// whenever it differs from the last one reported; a probe that fails (times
// out, cannot run) is an empty result of the check's type. Nothing is killed.
import type {
  CheckInfo,
  CheckStatusInfo,
  CheckType,
  HealthCheck,
  TaskStatus,
} from '../wire/index.js';

/** Mesos' defaults for unset fields (WIRE §1.2, §9). */
export const HEALTH_CHECK_DEFAULTS = {
  delaySeconds: 15,
  intervalSeconds: 10,
  timeoutSeconds: 20,
  consecutiveFailures: 3,
  gracePeriodSeconds: 10,
} as const;
export const CHECK_DEFAULTS = {
  delaySeconds: 15,
  intervalSeconds: 10,
  timeoutSeconds: 20,
} as const;

/** When to probe: the first after `delayMs`, each next `intervalMs` after the last one ended. */
export interface CheckTiming {
  readonly delayMs: number;
  readonly intervalMs: number;
  /** How long a probe may take before it counts as failed; undefined: no limit (0 on the wire). */
  readonly timeoutMs: number | undefined;
}

export interface HealthPolicy extends CheckTiming {
  readonly consecutiveFailures: number;
  readonly gracePeriodMs: number;
}

/** What one probe found: a result of the check's type, or why there is none. */
export type ProbeOutcome =
  | { readonly kind: 'result'; readonly status: CheckStatusInfo }
  | { readonly kind: 'error'; readonly message: string };

export function healthPolicy(healthCheck: HealthCheck): HealthPolicy {
  const d = HEALTH_CHECK_DEFAULTS;
  return {
    ...timing(
      healthCheck.delay_seconds ?? d.delaySeconds,
      healthCheck.interval_seconds ?? d.intervalSeconds,
      healthCheck.timeout_seconds ?? d.timeoutSeconds,
    ),
    consecutiveFailures: healthCheck.consecutive_failures ?? d.consecutiveFailures,
    gracePeriodMs: (healthCheck.grace_period_seconds ?? d.gracePeriodSeconds) * 1000,
  };
}

export function checkTiming(check: CheckInfo): CheckTiming {
  const d = CHECK_DEFAULTS;
  return timing(
    check.delay_seconds ?? d.delaySeconds,
    check.interval_seconds ?? d.intervalSeconds,
    check.timeout_seconds ?? d.timeoutSeconds,
  );
}

function timing(delaySeconds: number, intervalSeconds: number, timeoutSeconds: number) {
  return {
    delayMs: delaySeconds * 1000,
    intervalMs: intervalSeconds * 1000,
    timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
  };
}

// ------------------------------------------------------------------ health

export interface HealthState {
  /**
   * When checking began (the task's TASK_RUNNING): the grace period counts from here. On
   * the clock judgeHealth's `nowMs` comes from (the agent's monotonic one, task-checks.ts).
   */
  readonly startedAtMs: number;
  /** A check has passed once: the grace period no longer applies (Mesos' `initializing`). */
  readonly hasSucceeded: boolean;
  readonly consecutiveFailures: number;
}

export type HealthDecision =
  /** A success that changes nothing: no update. */
  | { readonly kind: 'quiet' }
  /** A failure within the grace period, before any success: ignored. */
  | { readonly kind: 'inGrace'; readonly why: string }
  | { readonly kind: 'healthy' }
  | {
      readonly kind: 'unhealthy';
      readonly why: string;
      readonly consecutiveFailures: number;
      /** `consecutive_failures` reached: the task is to be killed. */
      readonly isKill: boolean;
    };

export function initialHealthState(startedAtMs: number): HealthState {
  return { startedAtMs, hasSucceeded: false, consecutiveFailures: 0 };
}

/** Judges one outcome; returns the next state and what to do about it. */
export function judgeHealth(
  policy: HealthPolicy,
  state: HealthState,
  outcome: ProbeOutcome,
  nowMs: number,
): { readonly state: HealthState; readonly decision: HealthDecision } {
  const why = failureOf(outcome);
  if (why === undefined) {
    const decision: HealthDecision =
      !state.hasSucceeded || state.consecutiveFailures > 0
        ? { kind: 'healthy' }
        : { kind: 'quiet' };
    return { state: { ...state, hasSucceeded: true, consecutiveFailures: 0 }, decision };
  }
  const isInGrace =
    !state.hasSucceeded &&
    policy.gracePeriodMs > 0 &&
    nowMs - state.startedAtMs <= policy.gracePeriodMs;
  if (isInGrace) return { state, decision: { kind: 'inGrace', why } };
  const consecutiveFailures = state.consecutiveFailures + 1;
  return {
    state: { ...state, consecutiveFailures },
    decision: {
      kind: 'unhealthy',
      why,
      consecutiveFailures,
      isKill: consecutiveFailures >= policy.consecutiveFailures,
    },
  };
}

/**
 * Why an outcome counts as a failed health check, or undefined for a pass:
 * exit status 0, an HTTP status from 200 to 399 (`statuses` is ignored, as the
 * built-in executors ignore it), a TCP connection made.
 */
export function failureOf(outcome: ProbeOutcome): string | undefined {
  if (outcome.kind === 'error') return outcome.message;
  const { status } = outcome;
  switch (status.type) {
    case 'COMMAND': {
      const code = status.command?.exit_code;
      return code === 0 ? undefined : `Command exited with status ${code ?? 'unknown'}`;
    }
    case 'HTTP': {
      const code = status.http?.status_code;
      return code !== undefined && code >= 200 && code < 400
        ? undefined
        : `Unexpected HTTP response code: ${code ?? 'none'}`;
    }
    case 'TCP':
      return status.tcp?.succeeded === true ? undefined : 'TCP connection failed';
    case 'UNKNOWN':
    case undefined:
      return undefined;
  }
}

/**
 * The health state a restarted agent resumes from, read from the updates the
 * previous agent recorded: each failure outside the grace period was reported,
 * so the unhealthy reports since the last healthy one are the failure count.
 */
export function recoveredHealthState(
  updates: readonly TaskStatus[],
  startedAtMs: number,
): HealthState {
  let hasSucceeded = false;
  let consecutiveFailures = 0;
  for (const update of updates) {
    if (update.reason !== 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED') continue;
    if (update.healthy === true) {
      hasSucceeded = true;
      consecutiveFailures = 0;
    } else if (update.healthy === false) consecutiveFailures += 1;
  }
  return { startedAtMs, hasSucceeded, consecutiveFailures };
}

// ------------------------------------------------------------------ checks

/** A check status with no result yet: what every update carries until there is one. */
export function emptyCheckStatus(type: CheckType): CheckStatusInfo {
  switch (type) {
    case 'COMMAND':
      return { type, command: {} };
    case 'HTTP':
      return { type, http: {} };
    case 'TCP':
      return { type, tcp: {} };
    case 'UNKNOWN':
      return { type };
  }
}

/**
 * The check status to report after `outcome`, or undefined when it equals the
 * last one reported (`previous`). A failed probe reports an empty result.
 */
export function nextCheckStatus(
  type: CheckType,
  previous: CheckStatusInfo,
  outcome: ProbeOutcome,
): CheckStatusInfo | undefined {
  const next = outcome.kind === 'result' ? outcome.status : emptyCheckStatus(type);
  return isSameCheckStatus(previous, next) ? undefined : next;
}

export function isSameCheckStatus(a: CheckStatusInfo, b: CheckStatusInfo): boolean {
  return (
    a.type === b.type &&
    (a.command === undefined) === (b.command === undefined) &&
    a.command?.exit_code === b.command?.exit_code &&
    (a.http === undefined) === (b.http === undefined) &&
    a.http?.status_code === b.http?.status_code &&
    (a.tcp === undefined) === (b.tcp === undefined) &&
    a.tcp?.succeeded === b.tcp?.succeeded
  );
}

/** The check status last reported before an agent restart, or the empty one. */
export function recoveredCheckStatus(
  type: CheckType,
  updates: readonly TaskStatus[],
): CheckStatusInfo {
  for (let i = updates.length - 1; i >= 0; i--) {
    const status = updates[i]?.check_status;
    if (status !== undefined) return status;
  }
  return emptyCheckStatus(type);
}

// --------------------------------------------------------------- scheduling

/**
 * The wait before the first probe of checking that began at `startedAtMs`:
 * the rest of the delay, or none once the delay has passed (a restarted
 * agent resumes checking at once, as Mesos' checker does on resume).
 */
export function firstProbeDelayMs(delayMs: number, startedAtMs: number, nowMs: number): number {
  return Math.max(0, startedAtMs + delayMs - nowMs);
}
