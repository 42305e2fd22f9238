import type { TaskStatus } from '../../wire/index.js';
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
 * Counters the master keeps as things happen; gauges (tasks per state, agents,
 * resources) are computed from the books when `/metrics/snapshot` is read.
 * Names are Mesos' (WIRE §7.5).
 */
export class MasterMetrics {
  private readonly counters = new Map<string, number>();
  /**
   * Per-framework metrics, by framework id: kept apart so they go when the
   * framework does (#7: every `agora run` left 12 keys behind for good). Their
   * names come from closed sets (call and event types, offer outcomes), so a
   * framework has a bounded number of them.
   */
  private readonly frameworks = new Map<string, { prefix: string; values: Map<string, number> }>();
  private readonly allocationRunsMs: number[] = [];
  private allocationRuns = 0;
  /** How long allocation cycles take, ms. */
  readonly allocationRunHistogram = new Histogram();
  /** From an offer being made to its ACCEPT, ms. */
  readonly offerAcceptHistogram = new Histogram();

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  set(name: string, value: number): void {
    this.counters.set(name, value);
  }

  frameworkCounter(framework: FrameworkRecord, suffix: string, by = 1): void {
    const values = this.frameworkValues(framework);
    values.set(suffix, (values.get(suffix) ?? 0) + by);
  }

  frameworkGauge(framework: FrameworkRecord, suffix: string, value: number): void {
    this.frameworkValues(framework).set(suffix, value);
  }

  /** The framework was removed: its metrics go with it. */
  forgetFramework(framework: FrameworkRecord): void {
    this.frameworks.delete(framework.id.value);
  }

  countEvent(framework: FrameworkRecord, type: string): void {
    this.frameworkCounter(framework, `events/${type.toLowerCase()}`);
  }

  /** `master/task_<state>/source_<source>/reason_<reason>`, v0 lower-case names. */
  countTaskStatus(status: TaskStatus): void {
    if (status.source === undefined || status.reason === undefined) return;
    const state = status.state.replace(/^TASK_/, '').toLowerCase();
    const source = status.source.replace(/^SOURCE_/, '').toLowerCase();
    const reason = status.reason.replace(/^REASON_/, '').toLowerCase();
    this.count(`master/task_${state}/source_${source}/reason_${reason}`);
  }

  recordAllocationRun(ms: number): void {
    this.allocationRunHistogram.observe(ms);
    this.allocationRuns += 1;
    this.allocationRunsMs.push(ms);
    if (this.allocationRunsMs.length > ALLOCATION_RUN_WINDOW) this.allocationRunsMs.shift();
  }

  /** Counters, per-framework metrics and the allocation timer, as flat `name -> number`. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.counters);
    for (const { prefix, values } of this.frameworks.values())
      for (const [suffix, value] of values) out[`${prefix}/${suffix}`] = value;
    out['allocator/mesos/allocation_runs'] = this.allocationRuns;
    Object.assign(out, timerMetrics('allocator/mesos/allocation_run_ms', this.allocationRunsMs));
    return out;
  }

  private frameworkValues(framework: FrameworkRecord): Map<string, number> {
    let entry = this.frameworks.get(framework.id.value);
    if (entry === undefined) {
      entry = { prefix: frameworkPrefix(framework), values: new Map() };
      this.frameworks.set(framework.id.value, entry);
    }
    return entry.values;
  }
}

function frameworkPrefix(framework: FrameworkRecord): string {
  return `master/frameworks/${encodeURIComponent(framework.info.name)}/${framework.id.value}`;
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
