// Runs a task's health check and check: the timers (from the injected clock),
// the probes, and the rules of check-rules.ts, reporting through hooks the
// task's run supplies. One probe at a time per check; the next is armed
// `interval` after the last one ended, as Mesos' checker does. stop() cancels
// the timer and aborts a probe in flight (which kills its process), so
// nothing outlives the task.
import type { Clock, Logger, Timer } from '../runtime/index.js';
import type { CheckStatusInfo, TaskInfo } from '../wire/index.js';
import type { ProbeSpec } from './check-probes.js';
import { checkProbeSpec, healthProbeSpec } from './check-probes.js';
import {
  type CheckTiming,
  checkTiming,
  emptyCheckStatus,
  firstProbeDelayMs,
  type HealthState,
  healthPolicy,
  initialHealthState,
  judgeHealth,
  nextCheckStatus,
  type ProbeOutcome,
} from './check-rules.js';

export interface TaskChecksHooks {
  /** Runs one probe; must resolve (never reject) and stop promptly when `signal` aborts. */
  readonly probe: (spec: ProbeSpec, signal: AbortSignal) => Promise<ProbeOutcome>;
  /** A TASK_RUNNING update with `healthy`, reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED. */
  readonly reportHealth: (healthy: boolean) => void;
  /** A TASK_RUNNING update with `check_status`, reason REASON_TASK_CHECK_STATUS_UPDATED. */
  readonly reportCheck: (status: CheckStatusInfo) => void;
  /** `consecutive_failures` reached: kill the task with its kill policy. */
  readonly kill: () => void;
}

export interface TaskChecksOptions {
  readonly task: TaskInfo;
  readonly clock: Clock;
  readonly log: Logger;
  readonly hooks: TaskChecksHooks;
  /**
   * When checking began (TASK_RUNNING), on the wall clock (`clock.now()`): after an agent
   * restart it comes from the checkpointed update's timestamp, the only time that outlives
   * a process. The delay and the grace period count from here, converted once to the
   * monotonic clock (startTaskChecks).
   */
  readonly startedAtMs: number;
  /** After an agent restart: where the health check had got to. */
  readonly health?: HealthState;
  /** After an agent restart: the check status last reported. */
  readonly checkStatus?: CheckStatusInfo;
}

export interface TaskChecks {
  /** Stops every check of the task; idempotent. Nothing is reported afterwards. */
  stop(): void;
}

/** Starts the task's health check and check, if it has them. */
export function startTaskChecks(options: TaskChecksOptions): TaskChecks {
  const { task, clock, hooks, log } = options;
  const loops: ProbeLoop[] = [];
  const taskLog = log.child({ task_id: task.task_id.value });
  // Everything from here counts on the monotonic clock: on the wall clock an NTP step or an
  // operator's date (set back an hour) held a grace period or a first probe back by the jump,
  // or set forward ended the grace at once and let the next failures kill the task. The wall
  // start is read once; a start "in the future" (the clock set back since) counts as now, so
  // a jump before a restart can shorten the wait by at most its own length and never
  // lengthen it.
  const nowMs = clock.monotonicMs();
  const startedAtMs = nowMs - Math.max(0, clock.now() - options.startedAtMs);

  const healthCheck = task.health_check;
  const healthSpec = healthCheck === undefined ? undefined : healthProbeSpec(healthCheck);
  if (healthCheck !== undefined && healthSpec !== undefined) {
    const policy = healthPolicy(healthCheck);
    let state: HealthState = {
      ...(options.health ?? initialHealthState(startedAtMs)),
      startedAtMs,
    };
    let isKilling = false;
    const loop = new ProbeLoop(clock, policy, healthSpec, hooks.probe, (outcome) => {
      if (isKilling) return;
      const judged = judgeHealth(policy, state, outcome, clock.monotonicMs());
      state = judged.state;
      const { decision } = judged;
      switch (decision.kind) {
        case 'quiet':
          return;
        case 'inGrace':
          taskLog.info({ why: decision.why }, 'health check failed within its grace period');
          return;
        case 'healthy':
          taskLog.info('task is healthy');
          hooks.reportHealth(true);
          return;
        case 'unhealthy':
          taskLog.warn(
            { why: decision.why, consecutive_failures: decision.consecutiveFailures },
            'health check failed',
          );
          hooks.reportHealth(false);
          if (decision.isKill) {
            isKilling = true;
            loop.stop();
            hooks.kill();
          }
          return;
      }
    });
    loops.push(loop);
    loop.start(firstProbeDelayMs(policy.delayMs, startedAtMs, nowMs));
  }

  const check = task.check;
  const checkSpec = check === undefined ? undefined : checkProbeSpec(check);
  if (check?.type !== undefined && checkSpec !== undefined) {
    const type = check.type;
    const timing = checkTiming(check);
    let previous = options.checkStatus ?? emptyCheckStatus(type);
    const loop = new ProbeLoop(clock, timing, checkSpec, hooks.probe, (outcome) => {
      if (outcome.kind === 'error')
        taskLog.info({ why: outcome.message }, 'check could not produce a result');
      const next = nextCheckStatus(type, previous, outcome);
      if (next === undefined) return;
      previous = next;
      hooks.reportCheck(next);
    });
    loops.push(loop);
    loop.start(firstProbeDelayMs(timing.delayMs, startedAtMs, nowMs));
  }

  return {
    stop() {
      for (const loop of loops) loop.stop();
    },
  };
}

/** One check's cycle: wait, probe (bounded by the timeout), hand over the outcome, repeat. */
class ProbeLoop {
  private timer: Timer | undefined;
  private timeout: Timer | undefined;
  private inFlight: AbortController | undefined;
  private isStopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly timing: CheckTiming,
    private readonly spec: ProbeSpec,
    private readonly probe: TaskChecksHooks['probe'],
    private readonly onOutcome: (outcome: ProbeOutcome) => void,
  ) {}

  start(firstDelayMs: number): void {
    this.arm(firstDelayMs);
  }

  stop(): void {
    this.isStopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.timeout?.cancel();
    this.timeout = undefined;
    this.inFlight?.abort(new Error('checking stopped'));
    this.inFlight = undefined;
  }

  private arm(delayMs: number): void {
    if (this.isStopped) return;
    this.timer = this.clock.setTimeout(() => this.run(), delayMs);
  }

  private run(): void {
    this.timer = undefined;
    if (this.isStopped) return;
    const controller = new AbortController();
    this.inFlight = controller;
    let isSettled = false;
    const settle = (outcome: ProbeOutcome) => {
      if (isSettled) return;
      isSettled = true;
      timeout?.cancel();
      if (this.timeout === timeout) this.timeout = undefined;
      if (this.inFlight === controller) this.inFlight = undefined;
      if (this.isStopped) return;
      this.onOutcome(outcome);
      this.arm(this.timing.intervalMs);
    };
    const { timeoutMs } = this.timing;
    const timeout =
      timeoutMs === undefined
        ? undefined
        : this.clock.setTimeout(() => {
            const message = `timed out after ${timeoutMs / 1000}s`;
            controller.abort(new Error(message));
            settle({ kind: 'error', message });
          }, timeoutMs);
    this.timeout = timeout;
    void this.probe(this.spec, controller.signal).then(settle, (error: unknown) =>
      settle({ kind: 'error', message: (error as Error).message }),
    );
  }
}
