// #9's seeded random loop of agent kills: a real master, a real agent (cgroups
// isolation where the host has them, posix otherwise) and a framework that
// keeps a steady mix of short and long command tasks going (some fail, some
// exit 0, some it kills, some with health checks, one kind that fails them).
// Each round SIGKILLs the agent at a moment the seed picks (during a launch,
// as an update arrives, right after an acknowledgement, during a kill, in the
// middle of its own recovery, or anywhere) and starts it again on the same
// work dir. After each round and at the end the invariants are checked
// (agent-fault-invariants.ts). The same seed gives the same kills; where they
// land in the work depends on timing, so a failure is replayed by its seed but
// may need a few runs to land again.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Checkpoint } from '../../src/agent/checkpoint.js';
import { ledgerIds } from '../../src/containerizer/index.js';
import { mulberry32, type Random } from '../../src/sim/index.js';
import { isTerminalState, type TaskState } from '../../src/wire/index.js';
import {
  checkpointViolations,
  checkTasks,
  KILL_POINTS,
  type KillPoint,
  type LoopTask,
  leakViolations,
  TASK_KINDS,
  type TaskKind,
} from './agent-fault-invariants.js';
import { AGORA, type Daemon, getState, isAlive, startDaemon, waitFor } from './harness.js';
import { RawFramework as Framework, type RawFramework, type RawTaskSpec } from './raw-framework.js';

export interface AgentFault {
  readonly point: KillPoint;
  /** Quiet time before the kill is armed, so kills land at different points of the work. */
  readonly beforeMs: number;
  /** How long the agent stays down. */
  readonly downMs: number;
  /** Delay after the trigger (or, for 'recovery', after it starts) before the SIGKILL. */
  readonly jitterMs: number;
}

/** The kills of a run, from its seed alone (pure). */
export function planAgentFaults(seed: number, rounds: number): AgentFault[] {
  const random = mulberry32(seed);
  return Array.from({ length: rounds }, () => {
    const point = KILL_POINTS[Math.floor(random() * KILL_POINTS.length)] as KillPoint;
    return {
      point,
      beforeMs: Math.round(200 + random() * 1500),
      downMs: Math.round(random() < 0.5 ? random() * 200 : random() * 2500),
      jitterMs: Math.round(point === 'recovery' ? random() * 150 : random() * 20),
    };
  });
}

export function describeAgentFault(fault: AgentFault): string {
  const when: Record<KillPoint, string> = {
    launch: 'as a launch is accepted',
    update: 'as an update reaches the framework',
    ack: 'right after an acknowledgement',
    kill: 'during a kill',
    recovery: `during its recovery (${fault.jitterMs} ms into it)`,
    anytime: 'at a random moment',
  };
  return `SIGKILL the agent ${when[fault.point]}, down ${fault.downMs} ms`;
}

export interface AgentFaultLoopOptions {
  readonly seed: number;
  readonly rounds: number;
  /** 'posix' forces posix isolation; by default the agent picks (cgroups where root). */
  readonly isolation?: 'posix';
  readonly log?: (line: string) => void;
  /** Keep the logs even when every invariant held. */
  readonly keepLogs?: boolean;
  /** Tasks running at once, at most. */
  readonly concurrency?: number;
}

export interface AgentFaultLoopResult {
  readonly violations: readonly string[];
  readonly launched: number;
  readonly rounds: readonly string[];
  readonly isolation: string;
  readonly keptIn?: string;
}

const AGENT_RESOURCES = 'cpus:4;mem:2048;disk:1024';
/** A heal or a settle that takes longer than this is a failure in itself. */
const HEAL_TIMEOUT_MS = 60_000;
/** Time an ended task's processes and cgroups get to go, from when the framework heard. */
const LEAK_GRACE_MS = 15_000;

/** The agent as a child process the loop kills and starts again; its log goes to a file. */
class AgentProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  /** Date.now() of every start. */
  readonly startedAt: number[] = [];
  /** Date.now() of every SIGKILL. */
  readonly killedAt: number[] = [];
  lastIsolation = '';
  url = '';
  /** Resolves when this life logs that its containerizer is ready: its recovery starts. */
  recovering: Promise<void> = Promise.resolve();

  constructor(
    private readonly args: readonly string[],
    private readonly logPath: string,
  ) {}

  /** Starts it; resolves with its URL once it listens, unless `waitListening` is false. */
  async start(waitListening = true): Promise<void> {
    const log = createWriteStream(this.logPath, { flags: 'a' });
    log.write(`---- start ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [AGORA, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt.push(Date.now());
    this.exited = once(child, 'exit').finally(() => log.end());
    let recovering: (() => void) | undefined;
    this.recovering = new Promise<void>((resolve) => (recovering = resolve));
    let listening: ((url: string) => void) | undefined;
    const isListening = new Promise<string>((resolve) => (listening = resolve));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('"msg"')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === 'listening' && typeof parsed.url === 'string') listening?.(parsed.url);
        if (parsed.msg === 'containerizer ready' && typeof parsed.isolation === 'string') {
          this.lastIsolation = parsed.isolation;
          recovering?.();
        }
      } catch {
        // Not a log line.
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      log.write(`stderr: ${line}\n`),
    );
    if (!waitListening) return;
    const hasExited = this.exited.then(() => {
      throw new Error(`the agent exited before it listened (log: ${this.logPath})`);
    });
    this.url = await Promise.race([isListening, hasExited]);
  }

  async sigkill(): Promise<void> {
    this.killedAt.push(Date.now());
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    // SIGUSR1: the agent stops with its tasks (on SIGTERM it would leave them running).
    child.kill('SIGUSR1');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs the loop; never throws for a broken invariant (the result lists them), only for a harness error. */
export async function runAgentFaultLoop(
  options: AgentFaultLoopOptions,
): Promise<AgentFaultLoopResult> {
  const { seed, rounds } = options;
  const log = options.log ?? (() => {});
  const faults = planAgentFaults(seed, rounds);
  const random: Random = mulberry32(seed ^ 0x7a5c);
  const dir = mkdtempSync(join(tmpdir(), 'agora-agent-faults-'));
  const workDir = join(dir, 'agent');
  const markers = join(dir, 'markers');
  mkdirSync(markers);
  const started: { master?: Daemon; agent?: AgentProcess; framework?: RawFramework } = {};
  const tasks = new Map<string, LoopTask>();
  const done: string[] = [];
  const violations: string[] = [];
  let isolation = '';
  let isGenerating = true;
  let generator: NodeJS.Timeout | undefined;
  let rekiller: NodeJS.Timeout | undefined;
  try {
    const master = await startDaemon('master', [
      'master',
      '--port',
      '0',
      '--registry',
      'in_memory',
    ]);
    started.master = master;
    const agent = new AgentProcess(
      [
        'agent',
        '--master',
        master.url,
        '--port',
        '0',
        '--work_dir',
        workDir,
        '--resources',
        AGENT_RESOURCES,
        '--switch_user=false',
        '--registration_backoff_factor',
        '100ms',
        '--log_level',
        'debug',
        ...(options.isolation === 'posix' ? ['--isolation', 'posix/cpu,posix/mem'] : []),
      ],
      join(dir, 'agent.log'),
    );
    started.agent = agent;
    await agent.start();
    isolation = agent.lastIsolation;
    const agentIdValue = await waitFor('the agent to register', async () => {
      const state = await getState(master.url);
      return state.slaves.find((s) => s.active)?.id;
    });
    const framework = await Framework.start(master.url, 'agent-faults');
    started.framework = framework;
    const terminal = (id: string) =>
      framework.updates.find((u) => u.taskIdValue === id && isTerminalState(u.state as TaskState));

    // The framework's own kills: tasks of kind 'killed' a while after they run, and again
    // every few seconds until they end (a KILL sent while the agent is away is lost).
    const killTask = (task: LoopTask) => {
      task.killRequestedAtMs ??= Date.now();
      void framework.kill(task.spec.id, agentIdValue);
    };
    framework.hooks.onUpdate = (update) => {
      const task = tasks.get(update.taskIdValue);
      if (task === undefined || update.state !== 'TASK_RUNNING') return;
      if (task.kind === 'killed' && task.killRequestedAtMs === undefined)
        setTimeout(() => {
          if (terminal(task.spec.id) === undefined) killTask(task);
        }, task.killAfterMs).unref();
    };
    rekiller = setInterval(() => {
      for (const task of tasks.values())
        if (task.killRequestedAtMs !== undefined && terminal(task.spec.id) === undefined)
          void framework.kill(task.spec.id, agentIdValue);
    }, 3000);

    // A steady mix: topped up to `concurrency` tasks not yet ended.
    const concurrency = options.concurrency ?? 24;
    let next = 0;
    generator = setInterval(() => {
      if (!isGenerating) return;
      const open = [...tasks.values()].filter((t) => terminal(t.spec.id) === undefined).length;
      for (let i = open; i < concurrency && i < open + 3; i++) {
        const task = makeTask(`t${next++}`, random, markers);
        tasks.set(task.spec.id, task);
        framework.enqueue(task.spec);
      }
    }, 150);

    for (const [i, fault] of faults.entries()) {
      await sleep(fault.beforeMs);
      const line = `round ${i + 1}/${rounds}: ${describeAgentFault(fault)}`;
      log(line);
      done.push(line);
      await inject(fault, agent, framework, tasks, terminal, killTask);
      violations.push(...checkpointViolations(new Checkpoint(workDir).runs(), `round ${i + 1}`));
      await sleep(fault.downMs);
      if (fault.point === 'recovery') {
        // Timed from the moment it starts reading its checkpoint, not from the fork: node
        // takes longer to boot than a recovery of a few dozen runs takes.
        await agent.start(false);
        await Promise.race([agent.recovering, sleep(30_000)]);
        await sleep(fault.jitterMs);
        await agent.sigkill();
        violations.push(
          ...checkpointViolations(new Checkpoint(workDir).runs(), `round ${i + 1}, in recovery`),
        );
      }
      await agent.start();
      await waitFor(
        'the agent to re-register under its id',
        async () => {
          const state = await getState(master.url);
          const slave = state.slaves.find((s) => s.id === agentIdValue);
          return slave?.active === true && slave.pid.includes(new URL(agent.url).port)
            ? true
            : undefined;
        },
        HEAL_TIMEOUT_MS,
      );
      const leaks = await settleLeaks(workDir, tasks, framework, LEAK_GRACE_MS);
      violations.push(...leaks.map((v) => `round ${i + 1}: ${v}`));
      if (violations.length > 0) break;
    }

    // The end: no new tasks; every one must end.
    isGenerating = false;
    clearInterval(generator);
    await waitFor(
      'every launched task to reach a terminal state',
      () =>
        framework.queued === 0 && [...framework.launched].every((id) => terminal(id) !== undefined)
          ? true
          : undefined,
      HEAL_TIMEOUT_MS * 2,
    ).catch((error: Error) => violations.push(`at the end: ${error.message}`));
    // Late copies (resends) have a moment to arrive and be acknowledged.
    await sleep(1000);
    violations.push(
      ...checkTasks({
        tasks: [...tasks.values()].filter((t) => started.framework?.launched.has(t.spec.id)),
        updates: framework.updates,
        acknowledgedAt: framework.acknowledgedAt,
        agentKilledAt: agent.killedAt,
        markers: readMarkers(markers),
        sandboxes: sandboxesByTask(workDir),
      }),
    );
    violations.push(
      ...(await settleLeaks(workDir, tasks, framework, LEAK_GRACE_MS)).map(
        (v) => `at the end: ${v}`,
      ),
    );
    // Every acknowledged end retires its run: nothing is left to resend, and what is on disk reads.
    await agent.sigkill();
    violations.push(...checkpointViolations(new Checkpoint(workDir).runs(), 'at the end'));
    await agent.start();
  } catch (error) {
    violations.push(`the loop stopped: ${(error as Error).stack ?? (error as Error).message}`);
  } finally {
    if (generator !== undefined) clearInterval(generator);
    if (rekiller !== undefined) clearInterval(rekiller);
  }
  const launched = started.framework?.launched.size ?? 0;
  let keptIn: string | undefined;
  if (violations.length > 0 || options.keepLogs === true) {
    keptIn = mkdtempSync(
      join(tmpdir(), `agora-faults-${violations.length > 0 ? 'failed-' : ''}agent-${seed}-`),
    );
    cpSync(join(dir, 'agent.log'), join(keptIn, 'agent.log'));
    const framework = started.framework;
    const journal = {
      seed,
      rounds: done,
      tasks: [...tasks.values()],
      updates: framework?.updates ?? [],
      acknowledged: [...(framework?.acknowledgedAt ?? [])],
      agentStartedAt: started.agent?.startedAt,
      agentKilledAt: started.agent?.killedAt,
      callErrors: framework?.callErrors,
      violations,
    };
    writeFileSync(join(keptIn, 'journal.json'), JSON.stringify(journal, null, 1));
    writeFileSync(
      join(keptIn, 'master.log'),
      (started.master?.lines ?? []).map((l) => JSON.stringify(l)).join('\n'),
    );
  }
  await started.framework?.stop().catch(() => undefined);
  // The agent kills what is left of its tasks as it stops (SIGUSR1).
  await started.agent?.stop();
  // And its parked shim (shim-parking.ts): no process, no cgroup, no ledger entry.
  if (started.agent !== undefined) violations.push(...parkedLeftovers(workDir));
  await started.master?.stop();
  await sweepLeftovers(workDir);
  rmSync(dir, { recursive: true, force: true });
  return {
    violations,
    launched,
    rounds: done,
    isolation,
    ...(keptIn !== undefined ? { keptIn } : {}),
  };
}

/** Arms the round's trigger and SIGKILLs the agent when it fires. */
async function inject(
  fault: AgentFault,
  agent: AgentProcess,
  framework: RawFramework,
  tasks: ReadonlyMap<string, LoopTask>,
  terminal: (id: string) => unknown,
  killTask: (task: LoopTask) => void,
): Promise<void> {
  const trigger = new Promise<void>((resolve) => {
    const fire = () => {
      framework.hooks.onLaunched = undefined;
      framework.hooks.onAcknowledged = undefined;
      resolve();
    };
    // A trigger that never comes (nothing launched in 10 s) is not a fault: kill anyway.
    const fallback = setTimeout(fire, 10_000);
    const fireOnce = () => {
      clearTimeout(fallback);
      fire();
    };
    if (fault.point === 'launch') framework.hooks.onLaunched = fireOnce;
    else if (fault.point === 'ack') framework.hooks.onAcknowledged = fireOnce;
    else if (fault.point === 'update') {
      const previous = framework.hooks.onUpdate;
      framework.hooks.onUpdate = (update) => {
        previous?.(update);
        framework.hooks.onUpdate = previous;
        fireOnce();
      };
    } else if (fault.point === 'kill') {
      const running = [...tasks.values()].filter(
        (t) =>
          t.kind !== 'unhealthy' &&
          terminal(t.spec.id) === undefined &&
          framework.updates.some((u) => u.taskIdValue === t.spec.id && u.state === 'TASK_RUNNING'),
      );
      const victim = running[0];
      if (victim !== undefined) killTask(victim);
      fireOnce();
    } else fireOnce();
  });
  await trigger;
  if (fault.point !== 'recovery') await sleep(fault.jitterMs);
  await agent.sigkill();
}

/** One task of the mix, its command writing markers that say how far it really got. */
function makeTask(id: string, random: Random, markers: string): LoopTask {
  const kind = TASK_KINDS[Math.floor(random() * TASK_KINDS.length)] as TaskKind;
  const started = `echo > ${join(markers, `${id}.started`)}`;
  const exit = (code: number, seconds: number) =>
    `${started}; sleep ${seconds.toFixed(2)}; echo ${code} > ${join(markers, `${id}.exit`)}; exit ${code}`;
  const short = 0.05 + random() * 0.6;
  const long = 2 + random() * 6;
  const killAfterMs = Math.round(300 + random() * 3000);
  const spec: RawTaskSpec = (() => {
    switch (kind) {
      case 'ok':
        return { id, command: exit(0, short) };
      case 'fail':
        return { id, command: exit(3 + Math.floor(random() * 5), short) };
      case 'long':
        return { id, command: exit(random() < 0.7 ? 0 : 1, long) };
      case 'killed':
        return { id, command: `${started}; exec sleep 1000` };
      case 'healthy':
        return {
          id,
          command: exit(0, 1 + random() * 3),
          healthCheck: {
            command: 'true',
            intervalSeconds: 0.3,
            consecutiveFailures: 3,
            gracePeriodSeconds: 0,
          },
        };
      case 'unhealthy':
        return {
          id,
          command: `${started}; exec sleep 1000`,
          healthCheck: {
            command: 'false',
            intervalSeconds: 0.3,
            consecutiveFailures: 2,
            gracePeriodSeconds: 0,
          },
        };
    }
  })();
  return { kind, spec, killAfterMs, killRequestedAtMs: undefined };
}

function readMarkers(dir: string): {
  started: ReadonlySet<string>;
  exits: ReadonlyMap<string, number>;
} {
  const started = new Set<string>();
  const exits = new Map<string, number>();
  for (const name of readdirSync(dir)) {
    const [id = '', suffix] = name.split('.');
    if (suffix === 'started') started.add(id);
    if (suffix === 'exit') {
      const code = Number(readFileSync(join(dir, name), 'utf8').trim());
      if (Number.isInteger(code)) exits.set(id, code);
    }
  }
  return { started, exits };
}

/** Task id -> its runs' sandboxes (container ids), from the agent's work dir. */
function sandboxesByTask(workDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const slaves = join(workDir, 'slaves');
  for (const agent of list(slaves))
    for (const fw of list(join(slaves, agent, 'frameworks')))
      for (const executor of list(join(slaves, agent, 'frameworks', fw, 'executors')))
        for (const run of list(
          join(slaves, agent, 'frameworks', fw, 'executors', executor, 'runs'),
        ))
          if (run !== 'latest') out.set(executor, [...(out.get(executor) ?? []), run]);
  return out;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What of the agent's containers the host holds now: processes and cgroups by container id. */
function observeContainers(workDir: string): {
  processes: Map<string, number[]>;
  cgroups: Map<string, string[]>;
} {
  const prefix = `MESOS_SANDBOX=${join(workDir, 'slaves')}/`;
  const processes = new Map<string, number[]>();
  for (const name of list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'utf8');
    } catch {
      continue;
    }
    const entry = environ.split('\0').find((e) => e.startsWith(prefix));
    if (entry === undefined || !isAlive(Number(name))) continue;
    const containerId = /\/runs\/([^/]+)/.exec(entry)?.[1];
    if (containerId !== undefined)
      processes.set(containerId, [...(processes.get(containerId) ?? []), Number(name)]);
  }
  const cgroups = new Map<string, string[]>();
  const ids = new Set([...sandboxesByTask(workDir).values()].flat());
  for (const controller of list('/sys/fs/cgroup'))
    for (const id of list(join('/sys/fs/cgroup', controller, 'agora')))
      if (ids.has(id)) {
        const path = join('/sys/fs/cgroup', controller, 'agora', id);
        cgroups.set(id, [...(cgroups.get(id) ?? []), path]);
      }
  return { processes, cgroups };
}

/**
 * Waits (up to `graceMs`) until no task the framework saw end still has a process or
 * cgroup; returns what is left past that.
 */
async function settleLeaks(
  workDir: string,
  tasks: ReadonlyMap<string, LoopTask>,
  framework: RawFramework,
  graceMs: number,
): Promise<string[]> {
  let last: string[] = [];
  await waitFor(
    'ended tasks to leave no process or cgroup behind',
    () => {
      const ended = new Map(
        framework.updates
          .filter((u) => isTerminalState(u.state as TaskState))
          .map((u) => [u.taskIdValue, u.state]),
      );
      last = leakViolations({
        observed: observeContainers(workDir),
        sandboxes: sandboxesByTask(workDir),
        known: new Set(tasks.keys()),
        ended,
      });
      return last.length === 0 ? true : undefined;
    },
    graceMs,
  ).catch(() => undefined);
  return last;
}

/**
 * What of a parked shim (shim-parking.ts) a stopped agent left: the ledger forgets a
 * parked cgroup only once it is removed, and its shim is removed with it.
 */
function parkedLeftovers(workDir: string): string[] {
  return ledgerIds(join(workDir, 'meta', 'cgroups'))
    .filter((name) => name.startsWith('parked-'))
    .map((name) => `at the end: the stopped agent left its parked cgroup ${name}`);
}

/** After the loop: whatever a broken run left (processes, cgroups) is killed and removed. */
async function sweepLeftovers(workDir: string): Promise<void> {
  const { processes, cgroups } = observeContainers(workDir);
  for (const pids of processes.values())
    for (const pid of pids)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
  for (const paths of cgroups.values())
    for (const path of paths)
      await waitFor(
        `cgroup ${path} removed`,
        () => {
          try {
            for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n'))
              if (pid !== '') process.kill(Number(pid), 'SIGKILL');
            rmdirSync(path);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'EBUSY') return undefined;
          }
          return existsSync(path) ? undefined : true;
        },
        10_000,
      ).catch(() => undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
