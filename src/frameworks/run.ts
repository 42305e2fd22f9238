// The `agora run` framework: one task, its output streamed from its sandbox,
// its exit status handed back, like mesos-execute or srun. It uses only the
// public SDK, as a third-party framework would.
import { userInfo } from 'node:os';
import type { Writable } from 'node:stream';
import { offerFree, place, sumQuantities } from '../placement/index.js';
import { Resources } from '../resources/index.js';
import {
  getJson,
  readFile,
  type SchedulerConnection,
  sandboxPath,
  subscribe,
} from '../sdk/index.js';
import {
  type CommandInfo,
  exitStatusFromMessage,
  isTerminalState,
  taskId as mintTaskId,
  type Offer,
  type TaskID,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from '../wire/index.js';

/** Exit status when the task could not run at all (as `docker run` uses 125). */
export const EXIT_COULD_NOT_RUN = 125;
/** Offers that do not fit are refused this long, so the master offers others first. */
const MISFIT_REFUSE_SECONDS = 1;
/** After the launch nothing more is needed; other offers are refused for long. */
const AFTER_LAUNCH_REFUSE_SECONDS = 3600;
/** How often (at most) to ask the master whether any agent could ever fit the task. */
const FEASIBILITY_CHECK_INTERVAL_MS = 2000;
const OUTPUT_POLL_MIN_MS = 25;
const OUTPUT_POLL_MAX_MS = 500;

export interface RunCommandOptions {
  readonly master: string;
  readonly name: string;
  readonly command: CommandInfo;
  readonly resources: Resources;
  readonly role: string;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Task states go here as they happen, unless quiet. */
  readonly report?: (line: string) => void;
  /** Aborting kills the task; the run still waits for its terminal state. */
  readonly kill?: AbortSignal;
  /** The scheduler API's encoding (default JSON). */
  readonly codec?: 'json' | 'protobuf';
}

export interface RunResult {
  readonly exitStatus: number;
  readonly state: TaskState | undefined;
  readonly taskId: string;
}

/** Runs one task to completion. Throws only for trouble reaching the master. */
export async function runCommand(options: RunCommandOptions): Promise<RunResult> {
  // Unique within this framework trivially (it runs one task); the suffix tells runs apart in
  // listings. Math.random spares loading node:crypto (~4 ms of agora run's start-up).
  const suffix = Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, '0');
  const taskIdValue = `${options.name}-${suffix}`;
  const connection = await subscribe({
    master: options.master,
    frameworkInfo: {
      user: userInfo().username,
      name: options.name,
      role: options.role,
      capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
    },
    ...(options.codec !== undefined ? { codec: options.codec } : {}),
  });
  const run = new TaskRun(connection, options, mintTaskId(taskIdValue));
  try {
    return await run.wait();
  } finally {
    await run.stopOutput();
    await connection.close();
  }
}

class TaskRun {
  private isLaunched = false;
  private isKillSent = false;
  private agentUrl: URL | undefined;
  private lastFeasibilityCheckMs = 0;
  private readonly output: OutputPump[] = [];

  constructor(
    private readonly connection: SchedulerConnection,
    private readonly options: RunCommandOptions,
    private readonly taskId: TaskID,
  ) {}

  async wait(): Promise<RunResult> {
    const onKill = () => void this.kill();
    this.options.kill?.addEventListener('abort', onKill, { once: true });
    try {
      for await (const event of this.connection.events()) {
        if (event.type === 'OFFERS') {
          const failure = await this.offers(event.offers.offers);
          if (failure !== undefined) return failure;
        } else if (
          event.type === 'UPDATE' &&
          event.update.status.task_id.value === this.taskId.value
        ) {
          const result = await this.update(event.update.status);
          if (result !== undefined) return result;
        } else if (event.type === 'ERROR') {
          this.options.stderr.write(
            `agora run: the master ended the subscription: ${event.error.message}\n`,
          );
          return { exitStatus: EXIT_COULD_NOT_RUN, state: undefined, taskId: this.taskId.value };
        }
      }
      this.options.stderr.write('agora run: the master closed the connection\n');
      return { exitStatus: EXIT_COULD_NOT_RUN, state: undefined, taskId: this.taskId.value };
    } finally {
      this.options.kill?.removeEventListener('abort', onKill);
    }
  }

  private async offers(offers: readonly Offer[]): Promise<RunResult | undefined> {
    if (this.isLaunched || this.options.kill?.aborted === true) {
      await this.connection.decline(
        offers.map((o) => o.id),
        { refuse_seconds: AFTER_LAUNCH_REFUSE_SECONDS },
      );
      return undefined;
    }
    const fit = this.bestOffer(offers);
    if (fit === undefined) {
      await this.connection.decline(
        offers.map((o) => o.id),
        { refuse_seconds: MISFIT_REFUSE_SECONDS },
      );
      return this.checkFeasible();
    }
    this.isLaunched = true;
    this.agentUrl = new URL(
      `http://${fit.url.address.ip ?? fit.url.address.hostname}:${fit.url.address.port}`,
    );
    const task: TaskInfo = {
      name: this.options.name,
      task_id: this.taskId,
      agent_id: fit.agent_id,
      resources: this.options.resources.toWire('pre-refinement'),
      command: this.options.command,
    };
    const others = offers.filter((o) => o !== fit).map((o) => o.id);
    await Promise.all([
      this.connection.accept([fit.id], [{ type: 'LAUNCH', launch: { task_infos: [task] } }], {
        refuse_seconds: AFTER_LAUNCH_REFUSE_SECONDS,
      }),
      others.length > 0
        ? this.connection.decline(others, { refuse_seconds: AFTER_LAUNCH_REFUSE_SECONDS })
        : undefined,
      this.connection.suppress(),
    ]);
    this.report(`task ${this.taskId.value} launched on ${fit.hostname}`);
    return undefined;
  }

  /**
   * Of the offers the task fits in, the one placement's min-delay picks: where
   * the task takes the smallest share of what is free, so later tasks keep room.
   */
  private bestOffer(offers: readonly Offer[]): Offer | undefined {
    const fitting = offers.filter((offer) =>
      Resources.fromWire(offer.resources).unallocate().contains(this.options.resources),
    );
    if (fitting.length <= 1) return fitting[0];
    const agents = fitting.map((offer) => ({
      id: offer.id.value,
      free: offerFree(Resources.fromWire(offer.resources)),
    }));
    const [placement] = place(
      'min-delay',
      [{ id: this.taskId.value, demand: offerFree(this.options.resources), submittedAtMs: 0 }],
      agents,
      {
        nowMs: 0,
        clusterCapacity: sumQuantities(agents.map((agent) => agent.free)),
      },
    );
    return fitting.find((offer) => offer.id.value === placement?.agentId) ?? fitting[0];
  }

  /** No offer fitted: fail clearly if no agent could ever hold the task. */
  private async checkFeasible(): Promise<RunResult | undefined> {
    const now = Date.now();
    if (now - this.lastFeasibilityCheckMs < FEASIBILITY_CHECK_INTERVAL_MS) return undefined;
    this.lastFeasibilityCheckMs = now;
    const { slaves } = await getJson<{
      slaves: { hostname: string; resources: Record<string, number | string> }[];
    }>(new URL('/master/slaves', this.connection.master));
    const wanted = this.options.resources;
    const fits = slaves.some((agent) =>
      wanted.names().every((name) => {
        const have = agent.resources[name];
        return typeof have !== 'number' || have >= wanted.scalar(name);
      }),
    );
    if (fits || slaves.length === 0) return undefined;
    const largest = slaves
      .map((a) => `${a.hostname} (cpus:${a.resources.cpus}, mem:${a.resources.mem})`)
      .join(', ');
    this.options.stderr.write(
      `agora run: no agent can ever fit a task needing ${wanted.toString()}; agents: ${largest}\n`,
    );
    return { exitStatus: EXIT_COULD_NOT_RUN, state: undefined, taskId: this.taskId.value };
  }

  private async update(status: TaskStatus): Promise<RunResult | undefined> {
    this.report(
      `task ${this.taskId.value} is ${status.state}${status.message !== undefined ? `: ${status.message}` : ''}`,
    );
    if (
      (status.state === 'TASK_STARTING' || status.state === 'TASK_RUNNING') &&
      this.output.length === 0
    )
      this.startOutput();
    if (!isTerminalState(status.state)) return undefined;
    await this.stopOutput();
    return { exitStatus: exitStatusOf(status), state: status.state, taskId: this.taskId.value };
  }

  private async kill(): Promise<void> {
    if (this.isKillSent) return;
    this.isKillSent = true;
    this.report(`killing task ${this.taskId.value}`);
    if (!this.isLaunched) return;
    try {
      await this.connection.kill(this.taskId);
    } catch (error) {
      this.options.stderr.write(
        `agora run: could not kill the task: ${(error as Error).message}\n`,
      );
    }
  }

  private startOutput(): void {
    const agent = this.agentUrl;
    if (agent === undefined) return;
    const frameworkId = this.connection.frameworkId.value;
    for (const [file, sink] of [
      ['stdout', this.options.stdout],
      ['stderr', this.options.stderr],
    ] as const) {
      const pump = new OutputPump(agent, sandboxPath(frameworkId, this.taskId.value, file), sink);
      pump.start();
      this.output.push(pump);
    }
  }

  /** Stops polling and copies whatever the files still hold. */
  async stopOutput(): Promise<void> {
    await Promise.all(this.output.map((pump) => pump.finish()));
  }

  private report(line: string): void {
    this.options.report?.(line);
  }
}

/** Follows one sandbox file through `/files/read`, polling faster while it grows. */
class OutputPump {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private isFinished = false;
  private delayMs = OUTPUT_POLL_MIN_MS;

  constructor(
    private readonly agent: URL,
    private readonly path: string,
    private readonly sink: Writable,
  ) {}

  start(): void {
    this.schedule();
  }

  async finish(): Promise<void> {
    if (this.isFinished) return;
    this.isFinished = true;
    clearTimeout(this.timer);
    await this.polling;
    // Drain: read until a read comes back empty.
    let hadData = true;
    while (hadData) hadData = await this.readOnce();
  }

  private schedule(): void {
    if (this.isFinished) return;
    this.timer = setTimeout(() => {
      this.polling = this.readOnce().then((hadData) => {
        this.delayMs = hadData
          ? OUTPUT_POLL_MIN_MS
          : Math.min(this.delayMs * 2, OUTPUT_POLL_MAX_MS);
        this.schedule();
      });
    }, this.delayMs);
  }

  /** Reads once; true if it copied anything. Missing files (not created yet) read as empty. */
  private async readOnce(): Promise<boolean> {
    try {
      const chunk = await readFile(this.agent, this.path, this.offset);
      if (chunk.data.length === 0) return false;
      this.offset += Buffer.byteLength(chunk.data, 'utf8');
      if (!this.sink.write(chunk.data))
        await new Promise((resolve) => this.sink.once('drain', resolve));
      return true;
    } catch {
      // A file not created yet (404) or an agent briefly unreachable: the next poll retries.
      return false;
    }
  }
}

/** What `agora run` exits with for a terminal status (see `agora run --help`). */
export function exitStatusOf(status: TaskStatus): number {
  const fromMessage = exitStatusFromMessage(status.message);
  switch (status.state) {
    case 'TASK_FINISHED':
      return 0;
    case 'TASK_FAILED':
    case 'TASK_KILLED':
      return fromMessage ?? (status.state === 'TASK_KILLED' ? 143 : 1);
    default:
      return EXIT_COULD_NOT_RUN;
  }
}
