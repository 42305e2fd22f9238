// The master's counters and per-framework metrics, named as Mesos names them in
// /metrics/snapshot (docs/monitoring.md; WIRE §7.5). Gauges (tasks per state,
// agents, resources) are read off the books when a snapshot is taken
// (snapshot.ts). Counting runs on every call, event and status update, so no
// count builds a string: every name is a constant, or is built once per
// framework (its prefix) or once per state/source/reason (cached).
import type { Call, CallType, TaskState, TaskStatus } from '../../wire/index.js';
import type { FrameworkRecord } from './records.js';

/** How many recent allocation runs the percentiles are computed over. */
const ALLOCATION_RUN_WINDOW = 1024;

/** Upper bounds (ms) of the latency histograms' buckets, Prometheus style (cumulative). */
export const LATENCY_BUCKETS_MS = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 60_000,
] as const;

/** A cumulative histogram with fixed buckets: constant memory, whatever the rate. */
export class Histogram {
  /** counts[i]: observations ≤ LATENCY_BUCKETS_MS[i]; the last slot is +Inf. */
  readonly counts: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && value > (LATENCY_BUCKETS_MS[i] ?? 0)) i++;
    for (let j = i; j < this.counts.length; j++) this.counts[j] = (this.counts[j] ?? 0) + 1;
  }
}

/**
 * Every counter the master publishes, at 0 until something happens (Mesos
 * publishes them all from the start, and dashboards plot the zeros). Some
 * count what Agora has no source of yet (executor messages, operation status
 * updates, agents unregistering): they stay 0 until the agent and operation
 * work feeds them, and are here so that a dashboard built for Mesos finds them.
 */
export const MASTER_COUNTERS = [
  'master/dropped_messages',
  'master/messages_authenticate',
  'master/messages_deactivate_framework',
  'master/messages_decline_offers',
  'master/messages_executor_to_framework',
  'master/messages_exited_executor',
  'master/messages_framework_to_executor',
  'master/messages_kill_task',
  'master/messages_launch_tasks',
  'master/messages_operation_status_update',
  'master/messages_operation_status_update_acknowledgement',
  'master/messages_reconcile_operations',
  'master/messages_reconcile_tasks',
  'master/messages_register_framework',
  'master/messages_register_slave',
  'master/messages_reregister_framework',
  'master/messages_reregister_slave',
  'master/messages_resource_request',
  'master/messages_revive_offers',
  'master/messages_status_update',
  'master/messages_status_update_acknowledgement',
  'master/messages_suppress_offers',
  'master/messages_unregister_framework',
  'master/messages_unregister_slave',
  'master/messages_update_slave',
  'master/valid_status_updates',
  'master/invalid_status_updates',
  'master/valid_status_update_acknowledgements',
  'master/invalid_status_update_acknowledgements',
  'master/valid_framework_to_executor_messages',
  'master/invalid_framework_to_executor_messages',
  'master/valid_executor_to_framework_messages',
  'master/invalid_executor_to_framework_messages',
  'master/valid_operation_status_updates',
  'master/invalid_operation_status_updates',
  'master/valid_operation_status_update_acknowledgements',
  'master/invalid_operation_status_update_acknowledgements',
  'master/slave_registrations',
  'master/slave_reregistrations',
  'master/slave_removals',
  'master/slave_removals/reason_registered',
  'master/slave_removals/reason_unhealthy',
  'master/slave_removals/reason_unregistered',
  'master/recovery_slave_removals',
  'master/slave_unreachable_scheduled',
  'master/slave_unreachable_completed',
  'master/slave_unreachable_canceled',
  // Operation feedback (operations.ts): operations by the terminal state they reached.
  'master/operations/finished',
  'master/operations/error',
  'master/operations/dropped',
  // Terminal task states are counters; the others are gauges (snapshot.ts).
  'master/tasks_finished',
  'master/tasks_failed',
  'master/tasks_killed',
  'master/tasks_lost',
  'master/tasks_error',
  'master/tasks_dropped',
  'master/tasks_gone',
  'master/tasks_gone_by_operator',
] as const;

export type MasterCounter = (typeof MASTER_COUNTERS)[number];

/** The counter of tasks that reached each terminal state. */
const TERMINAL_TASK_COUNTER: Readonly<Partial<Record<TaskState, MasterCounter>>> = {
  TASK_FINISHED: 'master/tasks_finished',
  TASK_FAILED: 'master/tasks_failed',
  TASK_KILLED: 'master/tasks_killed',
  TASK_LOST: 'master/tasks_lost',
  TASK_ERROR: 'master/tasks_error',
  TASK_DROPPED: 'master/tasks_dropped',
  TASK_GONE: 'master/tasks_gone',
  TASK_GONE_BY_OPERATOR: 'master/tasks_gone_by_operator',
};

/**
 * What each scheduler call counts among the master's `messages_*`, as Mesos
 * counts the v1 call it handles (master.cpp). ACCEPT counts per LAUNCH
 * operation instead (see countCall); SUBSCRIBE counts where the core knows
 * whether it is a first subscription. The others have no Mesos counter.
 */
const CALL_MESSAGE: Readonly<Record<CallType, MasterCounter | undefined>> = {
  SUBSCRIBE: undefined,
  TEARDOWN: 'master/messages_unregister_framework',
  ACCEPT: undefined,
  DECLINE: 'master/messages_decline_offers',
  ACCEPT_INVERSE_OFFERS: undefined,
  DECLINE_INVERSE_OFFERS: undefined,
  REVIVE: 'master/messages_revive_offers',
  KILL: 'master/messages_kill_task',
  SHUTDOWN: undefined,
  ACKNOWLEDGE: 'master/messages_status_update_acknowledgement',
  ACKNOWLEDGE_OPERATION_STATUS: 'master/messages_operation_status_update_acknowledgement',
  RECONCILE: 'master/messages_reconcile_tasks',
  RECONCILE_OPERATIONS: 'master/messages_reconcile_operations',
  MESSAGE: 'master/messages_framework_to_executor',
  REQUEST: 'master/messages_resource_request',
  SUPPRESS: 'master/messages_suppress_offers',
  UPDATE_FRAMEWORK: undefined,
};

// Mesos publishes a per-framework counter for every value of these enums
// (FrameworkMetrics in master/metrics.cpp), named by the value in lower case.
const SCHEDULER_CALL_TYPES = Object.keys(CALL_MESSAGE) as readonly CallType[];
const SCHEDULER_EVENT_TYPES = [
  'SUBSCRIBED',
  'OFFERS',
  'INVERSE_OFFERS',
  'RESCIND',
  'RESCIND_INVERSE_OFFER',
  'UPDATE',
  'UPDATE_OPERATION_STATUS',
  'MESSAGE',
  'FAILURE',
  'ERROR',
  'HEARTBEAT',
] as const;
const OFFER_OPERATION_TYPES = [
  'LAUNCH',
  'LAUNCH_GROUP',
  'RESERVE',
  'UNRESERVE',
  'CREATE',
  'DESTROY',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'CREATE_DISK',
  'DESTROY_DISK',
] as const;
const ACTIVE_TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_UNREACHABLE',
  'TASK_UNKNOWN',
] as const satisfies readonly TaskState[];
const TERMINAL_TASK_STATES = Object.keys(TERMINAL_TASK_COUNTER) as readonly TaskState[];

type SchedulerEventType = (typeof SCHEDULER_EVENT_TYPES)[number];
type OfferOperationType = (typeof OFFER_OPERATION_TYPES)[number];

function suffixes<T extends string>(
  types: readonly T[],
  group: string,
): Readonly<Record<T, string>> {
  return Object.fromEntries(types.map((t) => [t, `${group}/${t.toLowerCase()}`])) as Record<
    T,
    string
  >;
}

const CALL_SUFFIX = suffixes(SCHEDULER_CALL_TYPES, 'calls');
// Keyed on Mesos' list, so an event type Agora adds that Mesos lacks fails to compile here.
const EVENT_SUFFIX = suffixes<SchedulerEventType>(SCHEDULER_EVENT_TYPES, 'events');
const OPERATION_SUFFIX = suffixes<OfferOperationType>(OFFER_OPERATION_TYPES, 'operations');
const TERMINAL_SUFFIX: Readonly<Partial<Record<TaskState, string>>> = suffixes(
  TERMINAL_TASK_STATES,
  'tasks/terminal',
);
const ACTIVE_SUFFIX: Readonly<Partial<Record<TaskState, string>>> = suffixes(
  ACTIVE_TASK_STATES,
  'tasks/active',
);

/** A framework's counters that are not per type: offers and the totals. */
export type FrameworkCounter =
  | 'subscribed'
  | 'calls'
  | 'events'
  | 'operations'
  | 'offers/sent'
  | 'offers/accepted'
  | 'offers/declined'
  | 'offers/rescinded';

/** Every per-framework name, at 0 until counted (as Mesos publishes them). */
const FRAMEWORK_SUFFIXES: readonly string[] = [
  'subscribed',
  'calls',
  'events',
  'operations',
  'offers/sent',
  'offers/accepted',
  'offers/declined',
  'offers/rescinded',
  ...Object.values<string>(CALL_SUFFIX),
  ...Object.values<string>(EVENT_SUFFIX),
  ...Object.values<string>(OPERATION_SUFFIX),
  ...Object.values(TERMINAL_SUFFIX),
  ...Object.values(ACTIVE_SUFFIX),
];

interface FrameworkValues {
  /** `master/frameworks/<url-encoded name>/<id>/`, built once. */
  readonly prefix: string;
  /** By suffix; every suffix is one of the constants above. */
  readonly values: Map<string, number>;
}

/**
 * Counters the master keeps as things happen; gauges (tasks per state, agents,
 * resources) are computed from the books when `/metrics/snapshot` is read.
 */
export class MasterMetrics {
  private readonly counters = new Map<string, number>(MASTER_COUNTERS.map((name) => [name, 0]));
  /**
   * `master/task_<state>/source_<source>/reason_<reason>` by state, then source, then reason:
   * nested so that finding a name builds no key (the three come from closed enums).
   */
  private readonly statusNames = new Map<string, Map<string, Map<string, string>>>();
  /**
   * Per-framework metrics, by framework id: kept apart so they go when the
   * framework does (#7: every `agora run` left 12 keys behind for good).
   */
  private readonly frameworks = new Map<string, FrameworkValues>();
  private readonly allocationRunsMs: number[] = [];
  private allocationRuns = 0;
  /** How long allocation cycles take, ms. */
  readonly allocationRunHistogram = new Histogram();
  /** From an offer being made to its ACCEPT, ms. */
  readonly offerAcceptHistogram = new Histogram();

  count(name: MasterCounter, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  /** A gauge the core keeps itself, under a Mesos name. */
  set(name: string, value: number): void {
    this.counters.set(name, value);
  }

  /** A task reached a terminal state: the master's counter and its framework's. */
  countTerminalTask(state: TaskState, framework: FrameworkRecord | undefined): void {
    const counter = TERMINAL_TASK_COUNTER[state];
    if (counter !== undefined) this.count(counter);
    const suffix = TERMINAL_SUFFIX[state];
    if (framework !== undefined && suffix !== undefined) this.add(framework, suffix, 1);
  }

  /**
   * A scheduler call the master handles (after the checks that answer 4xx): the
   * framework's `calls` and `calls/<type>`, and the master's `messages_*`.
   */
  countCall(framework: FrameworkRecord, call: Call): void {
    this.add(framework, 'calls', 1);
    this.add(framework, CALL_SUFFIX[call.type], 1);
    const message = CALL_MESSAGE[call.type];
    if (message !== undefined) this.count(message);
    if (call.type !== 'ACCEPT') return;
    // Mesos counts each LAUNCH with tasks as launch_tasks and an empty one as a decline.
    for (const operation of call.accept.operations ?? []) {
      this.add(framework, 'operations', 1);
      this.add(framework, OPERATION_SUFFIX[operation.type], 1);
      if (operation.type === 'LAUNCH')
        this.count(
          operation.launch.task_infos.length > 0
            ? 'master/messages_launch_tasks'
            : 'master/messages_decline_offers',
        );
    }
  }

  /** An event went to a framework's stream. */
  countEvent(framework: FrameworkRecord, type: SchedulerEventType): void {
    this.add(framework, 'events', 1);
    this.add(framework, EVENT_SUFFIX[type], 1);
  }

  frameworkCounter(framework: FrameworkRecord, name: FrameworkCounter, by = 1): void {
    this.add(framework, name, by);
  }

  frameworkGauge(framework: FrameworkRecord, name: 'subscribed', value: number): void {
    this.values(framework).values.set(name, value);
  }

  /** The framework was removed: its metrics go with it. */
  forgetFramework(framework: FrameworkRecord): void {
    this.frameworks.delete(framework.id.value);
  }

  /** `master/task_<state>/source_<source>/reason_<reason>`, v0 lower-case names. */
  countTaskStatus(status: TaskStatus): void {
    const { state, source, reason } = status;
    if (source === undefined || reason === undefined) return;
    let bySource = this.statusNames.get(state);
    if (bySource === undefined) {
      bySource = new Map();
      this.statusNames.set(state, bySource);
    }
    let byReason = bySource.get(source);
    if (byReason === undefined) {
      byReason = new Map();
      bySource.set(source, byReason);
    }
    let name = byReason.get(reason);
    if (name === undefined) {
      const lower = (value: string, prefix: string) => value.slice(prefix.length).toLowerCase();
      name = `master/task_${lower(state, 'TASK_')}/source_${lower(source, 'SOURCE_')}/reason_${lower(reason, 'REASON_')}`;
      byReason.set(reason, name);
    }
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }

  recordAllocationRun(ms: number): void {
    this.allocationRunHistogram.observe(ms);
    this.allocationRuns += 1;
    this.allocationRunsMs.push(ms);
    if (this.allocationRunsMs.length > ALLOCATION_RUN_WINDOW) this.allocationRunsMs.shift();
  }

  /**
   * Counters, per-framework metrics and the allocation timer, as flat `name -> number`.
   * `activeTasks` gives each framework's active tasks by state, for its
   * `tasks/active/<state>` gauges.
   */
  snapshot(
    activeTasks: (frameworkIdValue: string) => ReadonlyMap<TaskState, number> = () => new Map(),
  ): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.counters);
    for (const [idValue, { prefix, values }] of this.frameworks) {
      for (const [suffix, value] of values) out[prefix + suffix] = value;
      for (const [state, count] of activeTasks(idValue)) {
        const suffix = ACTIVE_SUFFIX[state];
        if (suffix !== undefined) out[prefix + suffix] = count;
      }
    }
    out['allocator/mesos/allocation_runs'] = this.allocationRuns;
    Object.assign(out, timerMetrics('allocator/mesos/allocation_run_ms', this.allocationRunsMs));
    return out;
  }

  private add(framework: FrameworkRecord, suffix: string, by: number): void {
    const { values } = this.values(framework);
    values.set(suffix, (values.get(suffix) ?? 0) + by);
  }

  private values(framework: FrameworkRecord): FrameworkValues {
    let entry = this.frameworks.get(framework.id.value);
    if (entry === undefined) {
      entry = {
        prefix: frameworkMetricPrefix(framework),
        values: new Map(FRAMEWORK_SUFFIXES.map((suffix) => [suffix, 0])),
      };
      this.frameworks.set(framework.id.value, entry);
    }
    return entry;
  }
}

/** `master/frameworks/<url-encoded name>/<id>/`: where a framework's metrics live. */
export function frameworkMetricPrefix(framework: FrameworkRecord): string {
  return `master/frameworks/${encodeURIComponent(framework.info.name)}/${framework.id.value}/`;
}

/** Mesos timers publish the last value and `/count`, `/min`, `/max` and percentiles. */
export function timerMetrics(name: string, samples: readonly number[]): Record<string, number> {
  if (samples.length === 0) return {};
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    [name]: samples[samples.length - 1] ?? 0,
    [`${name}/count`]: sorted.length,
    [`${name}/min`]: sorted[0] ?? 0,
    [`${name}/max`]: sorted[sorted.length - 1] ?? 0,
    [`${name}/p50`]: at(0.5),
    [`${name}/p90`]: at(0.9),
    [`${name}/p95`]: at(0.95),
    [`${name}/p99`]: at(0.99),
    [`${name}/p999`]: at(0.999),
    [`${name}/p9999`]: at(0.9999),
  };
}
