// A mixed workload drawn from a seeded PRNG: task classes, Poisson arrivals at a rate that
// offers the cluster a chosen load.
import assert from 'node:assert';
import type { PendingTask, Quantities } from '../placement/index.js';
import { exponential, mulberry32, type Random, uniform } from './random.js';

/** A range to draw from uniformly, rounded to a multiple of `step`. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly step: number;
}

/** One kind of task in the mix. */
export interface TaskClass {
  readonly name: string;
  /** Its share of arrivals; the shares of a workload add up to 1. */
  readonly fraction: number;
  /** Per resource name, the range each task's demand is drawn from. */
  readonly demand: Readonly<Record<string, Range>>;
  readonly durationMs: Range;
}

export interface WorkloadConfig {
  readonly seed: number;
  readonly agentCount: number;
  /** What each agent has, all agents alike. */
  readonly agentCapacity: Quantities;
  readonly classes: readonly TaskClass[];
  /**
   * Offered load of the busiest resource: arrival rate × mean (demand × duration) over the
   * cluster's capacity. Above about 0.85 queues form; above 1 they grow without end.
   */
  readonly offeredLoad: number;
  /** Tasks arrive during [0, arrivalWindowMs). */
  readonly arrivalWindowMs: number;
}

/** A task of the simulation: a pending task with its class and how long it runs. */
export interface SimTask extends PendingTask {
  readonly className: string;
  readonly durationMs: number;
}

/**
 * The default mix (issue #4): 20 agents of 16 cpus and 64 GB; 80% small short tasks
 * (0.5–2 cpus, 512–4096 MB, 10–60 s) and 20% large long ones (6–12 cpus, 16–48 GB, 120–600 s),
 * at an offered load of 0.9 (on cpus) for 2 simulated hours: about 3,000 tasks.
 */
export const DEFAULT_WORKLOAD: WorkloadConfig = Object.freeze({
  seed: 1,
  agentCount: 20,
  agentCapacity: Object.freeze({ cpus: 16, mem: 65_536 }),
  classes: Object.freeze([
    Object.freeze({
      name: 'small',
      fraction: 0.8,
      demand: Object.freeze({
        cpus: Object.freeze({ min: 0.5, max: 2, step: 0.1 }),
        mem: Object.freeze({ min: 512, max: 4096, step: 1 }),
      }),
      durationMs: Object.freeze({ min: 10_000, max: 60_000, step: 1000 }),
    }),
    Object.freeze({
      name: 'large',
      fraction: 0.2,
      demand: Object.freeze({
        cpus: Object.freeze({ min: 6, max: 12, step: 0.1 }),
        mem: Object.freeze({ min: 16_384, max: 49_152, step: 1 }),
      }),
      durationMs: Object.freeze({ min: 120_000, max: 600_000, step: 1000 }),
    }),
  ]),
  offeredLoad: 0.9,
  arrivalWindowMs: 2 * 60 * 60 * 1000,
});

/** The cluster's total: agentCount × agentCapacity. */
export function clusterCapacityOf(config: WorkloadConfig): Quantities {
  const total: Record<string, number> = {};
  for (const [name, value] of Object.entries(config.agentCapacity))
    total[name] = value * config.agentCount;
  return Object.freeze(total);
}

/**
 * Mean arrivals per ms that offer `config.offeredLoad` of the busiest resource: for each
 * resource k, load_k = rate × Σ_c fraction_c × E[r_k] × E[duration] / C_k (demand and duration
 * are drawn independently), and the rate makes the largest load_k equal the target.
 */
export function arrivalRatePerMs(config: WorkloadConfig): number {
  const capacity = clusterCapacityOf(config);
  let busiest = 0;
  for (const [name, total] of Object.entries(capacity)) {
    if (total <= 0) continue;
    let work = 0;
    for (const c of config.classes) {
      const range = c.demand[name];
      if (range !== undefined) work += c.fraction * mean(range) * mean(c.durationMs);
    }
    busiest = Math.max(busiest, work / total);
  }
  assert(busiest > 0, 'the workload demands nothing the cluster has');
  return config.offeredLoad / busiest;
}

/**
 * The tasks of one run, in arrival order, ids `t00000`, `t00001`, …: Poisson arrivals during
 * the arrival window, each of a class drawn by `fraction`. Pure: the same config gives the same
 * tasks.
 */
export function generateWorkload(config: WorkloadConfig): SimTask[] {
  const fractions = config.classes.reduce((sum, c) => sum + c.fraction, 0);
  assert(Math.abs(fractions - 1) < 1e-9, `class fractions add up to ${fractions}, not 1`);
  assert(config.offeredLoad > 0 && config.arrivalWindowMs > 0 && config.agentCount > 0);
  const random = mulberry32(config.seed);
  const meanGapMs = 1 / arrivalRatePerMs(config);
  const tasks: SimTask[] = [];
  for (let atMs = exponential(random, meanGapMs); atMs < config.arrivalWindowMs; ) {
    const taskClass = drawClass(random, config.classes);
    const demand: Record<string, number> = {};
    for (const [name, range] of Object.entries(taskClass.demand))
      demand[name] = draw(random, range);
    tasks.push(
      Object.freeze({
        id: `t${String(tasks.length).padStart(5, '0')}`,
        demand: Object.freeze(demand),
        submittedAtMs: Math.round(atMs),
        className: taskClass.name,
        durationMs: draw(random, taskClass.durationMs),
      }),
    );
    atMs += exponential(random, meanGapMs);
  }
  return tasks;
}

function drawClass(random: Random, classes: readonly TaskClass[]): TaskClass {
  const at = random();
  let sum = 0;
  for (const c of classes) {
    sum += c.fraction;
    if (at < sum) return c;
  }
  const last = classes.at(-1);
  assert(last !== undefined, 'a workload needs a task class');
  return last;
}

function draw(random: Random, range: Range): number {
  return uniform(random, range.min, range.max, range.step);
}

function mean(range: Range): number {
  return (range.min + range.max) / 2;
}
