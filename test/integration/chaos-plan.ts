// The chaos test's schedule (chaos-cluster.test.ts), from its seed alone: which process is
// SIGKILLed, after how long a quiet spell, and how long it stays down. Pure, so a seed names
// the same schedule on every machine; where the kills land in the work still depends on
// timing, so a failing seed is replayed by its seed but may need a few runs to land again.
import { mulberry32 } from '../../src/sim/index.js';

export const TARGETS = ['master', 'agent-1', 'agent-2', 'jobs', 'services', 'task'] as const;
export type Target = (typeof TARGETS)[number];

/** How often each target is picked: task processes die most, as they do in a real cluster. */
const WEIGHTS: Record<Target, number> = {
  master: 2,
  'agent-1': 2,
  'agent-2': 2,
  jobs: 2,
  services: 2,
  task: 4,
};

export interface Fault {
  readonly target: Target;
  /** Quiet time before the kill, so kills land at different points of the work. */
  readonly afterMs: number;
  /** How long the process stays down before it is started again (a task is not restarted). */
  readonly downMs: number;
  /** For 'task': which of the task processes found (sorted by pid), as a fraction of them. */
  readonly pick: number;
  /**
   * For a daemon: killed again this long into its first restart (in the middle of its own
   * recovery: reading its registry, checkpoints or store), then started once more.
   */
  readonly againAfterMs: number | undefined;
}

export function planChaos(seed: number, faults: number): Fault[] {
  const random = mulberry32(seed);
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  const targetOf = (x: number): Target => {
    let left = x * total;
    for (const target of TARGETS) {
      left -= WEIGHTS[target];
      if (left < 0) return target;
    }
    return 'task';
  };
  return Array.from({ length: faults }, () => {
    const target = targetOf(random());
    return {
      target,
      afterMs: Math.round(300 + random() * 2700),
      // Half come straight back, half stay away long enough for work to move on without them.
      downMs: Math.round(random() < 0.5 ? random() * 300 : 500 + random() * 2500),
      pick: random(),
      againAfterMs: random() < 0.3 ? Math.round(100 + random() * 900) : undefined,
    };
  });
}

export function describeFault(fault: Fault): string {
  if (fault.target === 'task') return `SIGKILL a task process after ${fault.afterMs} ms`;
  const again =
    fault.againAfterMs !== undefined ? `, again ${fault.againAfterMs} ms into its restart` : '';
  return `SIGKILL ${fault.target} after ${fault.afterMs} ms, down ${fault.downMs} ms${again}`;
}

/** The seed: CHAOS_SEED replays a run; otherwise a fresh one, printed. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.CHAOS_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff)
      throw new Error(`CHAOS_SEED must be an integer in [0, 2^32), not ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 0xffff_ffff);
}
