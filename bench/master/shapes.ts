// The rows of the master benchmark (#8): what each simulates, and the goals.
import type { SimTaskShape } from '../../src/sim/index.js';

/**
 * Every simulated agent of the load rows: room for exactly 2 tasks of TASK, so nothing is
 * left over to be offered and declined. Small on purpose: 10,000 agents then hold 20,000
 * tasks, about 13,000 tasks/s of demand at a 1.5 s turnaround (over the 4,000/s goal),
 * which a master at the goal turns over in seconds; with 10 tasks each, today's master
 * would need minutes per turnover and a window would see one burst of launches or none.
 * 1,000 agents (2,000 tasks, ~1,300/s) stay under the goal, so once the master is fast
 * those rows show latency without a queue.
 */
export const AGENT_RESOURCES = 'cpus:0.2;mem:64';
export const AGENT_TASKS = 2;
/** The state row's agents: room for exactly 10 tasks each, 100,000 on 10,000 agents. */
export const STATE_AGENT_RESOURCES = 'cpus:1;mem:320';
export const STATE_TASKS_PER_AGENT = 10;
export const TASK: SimTaskShape = { cpus: 0.1, memMb: 32, command: 'true' };
export const TASK_MAX_DURATION_MS = 2_000;
export const LOAD_SHAPES: readonly LoadShape[] = [
  { agents: 1_000, frameworks: 10 },
  { agents: 1_000, frameworks: 100 },
  { agents: 10_000, frameworks: 10 },
  { agents: 10_000, frameworks: 100 },
];
/** AGORA_BENCH_STATE_AGENTS: a smaller state row (a heap snapshot of it, say). */
export const STATE_AGENTS = Number(process.env.AGORA_BENCH_STATE_AGENTS ?? 10_000);
export const STATE_FRAMEWORKS = 10;
/** GET /master/state this many times, one after another. */
export const STATE_FETCHES = 5;
/** GET_STATE replies of each kind (protobuf, JSON) after the GETs of /master/state. */
export const GET_STATE_FETCHES = 3;
export const ONE_AGENT_RESOURCES = 'cpus:8;mem:8192';
export const ONE_AGENT_TASKS = 1_000;
export const QUICK_ONE_AGENT_TASKS = 200;

/** #8's goals. */
export const GOAL_LAUNCHED_PER_SECOND_10K = 4_000;
export const GOAL_STATE_RSS_MB = 1_024;
export const GOAL_STATE_MS = 1_000;
export const GOAL_ONE_AGENT_SMALL_PER_SECOND = 300;
export const GOAL_ONE_AGENT_LARGE_PER_SECOND = 100;
export const GOAL_FINISHED_TO_OFFER_P50_MS = 20;

export interface LoadShape {
  readonly agents: number;
  readonly frameworks: number;
}

export type OneAgentKind = 'real' | 'sim';

export interface OneAgentShape {
  readonly kind: OneAgentKind;
  readonly taskCpus: number;
}

export const ONE_AGENT_SHAPES: readonly OneAgentShape[] = [
  { kind: 'real', taskCpus: 0.1 },
  { kind: 'real', taskCpus: 1 },
  { kind: 'sim', taskCpus: 0.1 },
  { kind: 'sim', taskCpus: 1 },
];
