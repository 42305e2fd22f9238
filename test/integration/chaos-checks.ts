// What must hold once the chaos test (chaos-cluster.test.ts) lets the cluster come back, as
// pure functions of what it observed, so each rule can be read (and tested) on its own. Each
// returns the violations it found, as sentences; none means the rule held.

/** One index of a run as the jobs framework's history reports it (`?tasks=all`). */
export interface IndexView {
  readonly index: number;
  readonly status: string;
}

/**
 * Every index of the array succeeded exactly once: the run says so, its history lists each
 * index once as succeeded, and the tasks' own trail shows each index's work done once.
 */
export function jobsViolations(
  run: {
    readonly status: string;
    readonly succeeded: number;
    readonly tasks?: readonly IndexView[];
  },
  completions: number,
  trail: readonly string[],
): string[] {
  const out: string[] = [];
  if (run.status !== 'SUCCESS') out.push(`the run ended ${run.status}, not SUCCESS`);
  if (run.succeeded !== completions)
    out.push(`the run counts ${run.succeeded} succeeded indices of ${completions}`);
  const listed = new Map<number, string[]>();
  for (const task of run.tasks ?? [])
    listed.set(task.index, [...(listed.get(task.index) ?? []), task.status]);
  const done = new Map<number, number>();
  for (const line of trail) {
    const [what, index] = line.split(' ');
    if (what === 'done') done.set(Number(index), (done.get(Number(index)) ?? 0) + 1);
  }
  for (let i = 0; i < completions; i++) {
    const statuses = listed.get(i) ?? [];
    if (statuses.length !== 1 || statuses[0] !== 'succeeded')
      out.push(`index ${i} is listed as [${statuses.join(', ')}], not once as succeeded`);
    const times = done.get(i) ?? 0;
    if (times !== 1) out.push(`index ${i}'s work was done ${times} times`);
  }
  for (const index of listed.keys())
    if (!Number.isInteger(index) || index < 0 || index >= completions)
      out.push(`the history lists index ${index}, outside 0..${completions - 1}`);
  return out;
}

/** A task as /master/state or an agent's /state lists it. */
export interface TaskAt {
  readonly id: string;
  readonly state: string;
  readonly agentId: string;
}

/** The master's live tasks and the agents' live tasks are the same tasks, in the same states. */
export function stateDisagreements(master: readonly TaskAt[], agents: readonly TaskAt[]): string[] {
  const key = (t: TaskAt) => `${t.agentId}/${t.id}`;
  const onAgents = new Map(agents.map((t) => [key(t), t]));
  const onMaster = new Map(master.map((t) => [key(t), t]));
  const out: string[] = [];
  for (const [k, task] of onMaster) {
    const there = onAgents.get(k);
    if (there === undefined) out.push(`the master lists ${k} ${task.state}; its agent does not`);
    else if (there.state !== task.state)
      out.push(`${k} is ${task.state} on the master, ${there.state} on its agent`);
  }
  for (const [k, task] of onAgents)
    if (!onMaster.has(k)) out.push(`agent lists ${k} ${task.state}; the master does not`);
  return out;
}

/** A process found in one of the agents' containers. */
export interface ContainerProcess {
  readonly pid: number;
  readonly taskId: string;
  readonly containerId: string;
}

/** Every process in the agents' containers belongs to a task the master knows as running. */
export function orphanViolations(
  processes: readonly ContainerProcess[],
  runningOnMaster: ReadonlySet<string>,
): string[] {
  return processes
    .filter((p) => !runningOnMaster.has(p.taskId))
    .map(
      (p) =>
        `process ${p.pid} of ${p.taskId} (container ${p.containerId}) runs, but the master does not know that task as running`,
    );
}

/** What a framework logged of its updates: each delivered one, and each acknowledged. */
export type UpdateEvent =
  | {
      readonly kind: 'delivered';
      readonly framework: string;
      readonly taskId: string;
      readonly state: string;
      readonly uuid: string;
      readonly atMs: number;
    }
  | {
      readonly kind: 'acknowledged';
      readonly framework: string;
      readonly taskId: string;
      readonly uuid: string;
      readonly atMs: number;
    };

/**
 * No update is delivered to a framework again after the master accepted its acknowledgement,
 * unless a master or an agent died in between (the acknowledgement may have died with it).
 */
export function resentAfterAcknowledgement(
  events: readonly UpdateEvent[],
  masterOrAgentKilledAt: readonly number[],
): string[] {
  const out: string[] = [];
  const acknowledgedAt = new Map<string, number>();
  for (const event of [...events].sort((a, b) => a.atMs - b.atMs)) {
    const key = `${event.framework}/${event.uuid}`;
    if (event.kind === 'acknowledged') {
      if (!acknowledgedAt.has(key)) acknowledgedAt.set(key, event.atMs);
      continue;
    }
    const ackedAt = acknowledgedAt.get(key);
    if (ackedAt === undefined || event.atMs <= ackedAt) continue;
    const isExplained = masterOrAgentKilledAt.some((t) => t >= ackedAt && t <= event.atMs);
    if (!isExplained)
      out.push(
        `${event.framework}: ${event.taskId} ${event.state} (${event.uuid}) delivered again ${event.atMs - ackedAt} ms after its acknowledgement, no master or agent died meanwhile`,
      );
  }
  return out;
}
