// Random placement problems for property tests: small, so brute force can check them.
import fc from 'fast-check';
import {
  type AgentFree,
  type PendingTask,
  type Quantities,
  sumQuantities,
} from '../../src/placement/index.js';

export interface Problem {
  readonly tasks: readonly PendingTask[];
  readonly agents: readonly AgentFree[];
  readonly clusterCapacity: Quantities;
}

/**
 * 1..maxAgents agents with 0.5–8 cpus and 0.5–16 GB free, 1..maxTasks tasks of 0.5–4 cpus
 * and 0.25–4 GB (each drawn in halves and quarters), submitted at 0..3 ms so ties happen;
 * the cluster capacity is what the agents have free.
 */
export function arbProblem(maxAgents = 3, maxTasks = 5): fc.Arbitrary<Problem> {
  const agent = fc.record({
    cpus: fc.integer({ min: 1, max: 16 }),
    mem: fc.integer({ min: 1, max: 32 }),
  });
  const task = fc.record({
    cpus: fc.integer({ min: 1, max: 8 }),
    mem: fc.integer({ min: 1, max: 16 }),
    submittedAtMs: fc.integer({ min: 0, max: 3 }),
  });
  return fc
    .record({
      agents: fc.array(agent, { minLength: 1, maxLength: maxAgents }),
      tasks: fc.array(task, { minLength: 1, maxLength: maxTasks }),
    })
    .map(({ agents, tasks }) => {
      const free = agents.map((a, i) => ({
        id: `a${i}`,
        free: { cpus: a.cpus / 2, mem: a.mem * 512 },
      }));
      return {
        agents: free,
        tasks: tasks.map((t, i) => ({
          id: `t${i}`,
          demand: { cpus: t.cpus / 2, mem: t.mem * 256 },
          submittedAtMs: t.submittedAtMs,
        })),
        clusterCapacity: sumQuantities(free.map((a) => a.free)),
      };
    });
}
