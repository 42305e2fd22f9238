// The processes of the chaos test (chaos-cluster.test.ts) and what it observes of them: each
// daemon is a real process of dist/ that the test SIGKILLs and starts again on the same work
// dir (the master on the same port, so agents and frameworks find it again), and the task
// processes are found on the host by the sandbox in their environment and by their cgroups.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { isTerminalState, type TaskState } from '../../src/wire/index.js';
import type { ContainerProcess, TaskAt, UpdateEvent } from './chaos-checks.js';
import { AGORA, type Daemon, getState, isAlive, startDaemon, waitFor } from './harness.js';

/** A daemon the test kills and starts again; `args` sees the last life's URL (the master keeps its port). */
export class Restartable {
  readonly lives: Daemon[] = [];
  /** Date.now() of every SIGKILL. */
  readonly killedAt: number[] = [];
  private current: Daemon | undefined;

  constructor(
    readonly name: string,
    private readonly args: (lastUrl: string | undefined) => string[],
  ) {}

  get url(): string {
    const url = this.current?.url;
    if (url === undefined) throw new Error(`${this.name} is down`);
    return url;
  }

  async start(): Promise<void> {
    const daemon = await startDaemon(this.name, this.args(this.lives.at(-1)?.url));
    this.lives.push(daemon);
    this.current = daemon;
  }

  /** Starts it and SIGKILLs it `afterMs` into its start, listening or not (its recovery cut short). */
  async startCutShort(afterMs: number): Promise<void> {
    const args = this.args(this.lives.at(-1)?.url);
    // As startDaemon runs it: tests name users this host lacks.
    const argv = args[0] === 'agent' ? [...args, '--switch_user=false'] : args;
    const child = spawn(process.execPath, [AGORA, ...argv], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    this.killedAt.push(Date.now());
    child.kill('SIGKILL');
    await exited;
  }

  async sigkill(): Promise<void> {
    const daemon = this.current;
    this.current = undefined;
    this.killedAt.push(Date.now());
    await daemon?.stop('SIGKILL');
  }

  /** Stops it as an operator would (an agent with its tasks: SIGUSR1). */
  async stop(): Promise<void> {
    const daemon = this.current;
    this.current = undefined;
    await daemon?.stop();
  }

  /** Every life's log lines, in order. */
  lines(): Record<string, unknown>[] {
    return this.lives.flatMap((d) => [...d.lines]);
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Container id -> task id, from the sandboxes under the agents' work dirs (command tasks: executor id = task id). */
export function containersOf(agentWorkDirs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const workDir of agentWorkDirs) {
    const slaves = join(workDir, 'slaves');
    for (const agent of list(slaves))
      for (const fw of list(join(slaves, agent, 'frameworks')))
        for (const executor of list(join(slaves, agent, 'frameworks', fw, 'executors')))
          for (const run of list(
            join(slaves, agent, 'frameworks', fw, 'executors', executor, 'runs'),
          ))
            if (run !== 'latest') out.set(run, executor);
  }
  return out;
}

/**
 * The live processes of the agents' containers: those whose environment names a sandbox under
 * an agent's work dir, and those in a cgroup named after one of their containers (what a task
 * forked with a scrubbed environment is still there).
 */
export function containerProcesses(agentWorkDirs: readonly string[]): ContainerProcess[] {
  const containers = containersOf(agentWorkDirs);
  const found = new Map<number, ContainerProcess>();
  const prefixes = agentWorkDirs.map((d) => `MESOS_SANDBOX=${join(d, 'slaves')}/`);
  for (const name of list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'utf8');
    } catch {
      continue;
    }
    const entry = environ.split('\0').find((e) => prefixes.some((p) => e.startsWith(p)));
    if (entry === undefined || !isAlive(Number(name))) continue;
    const containerId = /\/runs\/([^/]+)/.exec(entry)?.[1];
    const taskId = containerId !== undefined ? containers.get(containerId) : undefined;
    if (containerId !== undefined)
      found.set(Number(name), { pid: Number(name), containerId, taskId: taskId ?? '?' });
  }
  for (const [containerId, taskId] of containers)
    for (const path of cgroupsOf(containerId))
      for (const pid of procsIn(path))
        if (!found.has(pid) && isAlive(pid)) found.set(pid, { pid, containerId, taskId });
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}

/**
 * The processes of the tasks themselves: the shim that waits for a task is in its container
 * too, but runs in the launcher's session, where the task and all it forks run in a session
 * of their own, led by the task. (A shim killed just as its task exits takes the task's exit
 * status with it: the task is reported failed and runs again, as a Mesos task does whose
 * executor dies before it reports.)
 */
export function taskProcesses(agentWorkDirs: readonly string[]): ContainerProcess[] {
  const all = containerProcesses(agentWorkDirs);
  const leaders = new Set(all.map((p) => p.pid));
  return all.filter((p) => {
    const session = sessionOf(p.pid);
    return session !== undefined && leaders.has(session);
  });
}

function sessionOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command: state ppid pgrp session …
    const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    return Number.isInteger(session) ? session : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The agents' --cgroups_root: one of this run's own, so whatever is under it at the end is
 * theirs, among other tests' cgroups under `agora`.
 */
export const CHAOS_CGROUPS_ROOT = `agora-chaos-${process.pid}`;

/** The container's cgroups (under CHAOS_CGROUPS_ROOT), in every hierarchy that has one. */
export function cgroupsOf(containerId: string): string[] {
  return list('/sys/fs/cgroup')
    .map((controller) => join('/sys/fs/cgroup', controller, CHAOS_CGROUPS_ROOT, containerId))
    .filter((path) => list(path).length > 0);
}

/** Every cgroup left under CHAOS_CGROUPS_ROOT, in any hierarchy (containers' and parked ones). */
export function leftCgroups(): string[] {
  return list('/sys/fs/cgroup').flatMap((controller) => {
    const root = join('/sys/fs/cgroup', controller, CHAOS_CGROUPS_ROOT);
    return list(root)
      .filter((name) => list(join(root, name)).length > 0)
      .map((name) => join(root, name));
  });
}

/** Kills what is in each of `cgroups` and removes them, then the run's roots. */
export async function removeCgroups(cgroups: readonly string[]): Promise<void> {
  for (const path of cgroups)
    await waitFor(`cgroup ${path} removed`, () => removeCgroup(path), 10_000).catch(
      () => undefined,
    );
  for (const controller of list('/sys/fs/cgroup'))
    removeCgroup(join('/sys/fs/cgroup', controller, CHAOS_CGROUPS_ROOT));
}

/** One try: true once `path` is gone. */
function removeCgroup(path: string): true | undefined {
  for (const pid of procsIn(path))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  try {
    rmdirSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return undefined;
  }
  return true;
}

function procsIn(cgroup: string): number[] {
  try {
    return readFileSync(join(cgroup, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The master's live tasks (not terminal), with their agents. */
export async function masterTasks(masterUrl: string): Promise<TaskAt[]> {
  const state = await getState(masterUrl);
  return state.frameworks.flatMap((f) =>
    f.tasks
      .filter((t) => !isTerminalState(t.state as TaskState))
      .map((t) => ({ id: t.id, state: t.state, agentId: t.slave_id })),
  );
}

interface AgentState {
  id: string;
  frameworks: { executors: { tasks: { id: string; state: string }[] }[] }[];
}

/** An agent's live tasks, as its own /state lists them. */
export async function agentTasks(agentUrl: string): Promise<TaskAt[]> {
  const response = await fetch(new URL('/state', agentUrl));
  if (response.status !== 200) throw new Error(`${agentUrl}/state answered ${response.status}`);
  const state = (await response.json()) as AgentState;
  return state.frameworks.flatMap((f) =>
    f.executors.flatMap((e) =>
      e.tasks
        .filter((t) => !isTerminalState(t.state as TaskState))
        .map((t) => ({ id: t.id, state: t.state, agentId: state.id })),
    ),
  );
}

/** The updates a framework's log lines say it was handed and acknowledged (both at debug). */
export function updateEvents(framework: string, lines: readonly Record<string, unknown>[]) {
  const out: UpdateEvent[] = [];
  for (const line of lines) {
    const { uuid, task_id: taskId } = line;
    // The jobs framework logs epoch milliseconds, the services framework (pino) ISO text.
    const time = typeof line.time === 'string' ? Date.parse(line.time) : line.time;
    if (typeof uuid !== 'string' || typeof taskId !== 'string' || typeof time !== 'number')
      continue;
    if (line.msg === 'status update' || line.msg === 'task status')
      out.push({
        kind: 'delivered',
        framework,
        taskId,
        uuid,
        state: String(line.state),
        atMs: time,
      });
    if (line.msg === 'status update acknowledged')
      out.push({ kind: 'acknowledged', framework, taskId, uuid, atMs: time });
  }
  return out;
}

/** After the test: whatever its containers left (processes, cgroups) is killed and removed. */
export async function sweepContainers(agentWorkDirs: readonly string[]): Promise<void> {
  for (const { pid } of containerProcesses(agentWorkDirs))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  for (const containerId of containersOf(agentWorkDirs).keys())
    for (const path of cgroupsOf(containerId))
      await waitFor(`cgroup ${path} removed`, () => removeCgroup(path), 10_000).catch(
        () => undefined,
      );
}
