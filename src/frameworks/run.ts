// Long file: one TaskRun whose steps (subscribe, wait for an offer, launch, follow its output
// and updates, tear down) share its state; split by step they would pass that state around.
// The `agora run` framework: one task, its output streamed from its sandbox,
// its exit status handed back, like mesos-execute or srun. It uses only the
// public SDK, as a third-party framework would.
import { userInfo } from 'node:os';
import type { Writable } from 'node:stream';
import { offerFree, place, sumQuantities } from '../placement/index.js';
import { Resources } from '../resources/index.js';
import {
  getJson,
  type SchedulerConnection,
  SubscriptionError,
  sandboxPath,
  subscribe,
} from '../sdk/index.js';
import {
  type AgentID,
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
import { OutputPump } from './output-pump.js';
import { dockerContainerInfo, type RunDockerOptions, takePorts } from './run-docker.js';
import { type AgentView, type RoleView, type WaitingKind, whyWaiting } from './waiting.js';

/** Exit status when the task could not run at all (as `docker run` uses 125). */
export const EXIT_COULD_NOT_RUN = 125;
/** Exit status when interrupted before a task was launched (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;
/**
 * How long the master keeps the framework (and its task) after losing touch
 * with `agora run`, and so how long `agora run` keeps re-subscribing: long
 * enough for a master restart or failover, short enough that a killed
 * `agora run` does not leave its task behind for long.
 */
export const DEFAULT_FAILOVER_TIMEOUT_MS = 5 * 60_000;
/** Offers that do not fit are refused this long, so the master offers others first. */
const MISFIT_REFUSE_SECONDS = 1;
/** After the launch nothing more is needed; other offers are refused for long. */
const AFTER_LAUNCH_REFUSE_SECONDS = 3600;
/** Silence this long without a fitting offer is explained on stderr. */
const WAITING_NOTICE_MS = 2000;
/** How often (at most) to ask the master why no offer fits. */
const DIAGNOSIS_INTERVAL_MS = 1000;
/** Explicit reconciliation is repeated while the master does not know the task yet (capped). */
const RECONCILE_RETRY_INITIAL_MS = 1000;
const RECONCILE_RETRY_MAX_MS = 30_000;

export interface RunCommandOptions {
  readonly master: string;
  readonly name: string;
  readonly command: CommandInfo;
  readonly resources: Resources;
  readonly role: string;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Task states and progress go here as they happen, unless quiet. */
  readonly report?: (line: string) => void;
  /**
   * Ends the run at any stage. Before the task is launched the framework is
   * torn down and the run ends as 'interrupted'; after, the task is killed
   * and the run waits for its terminal state.
   */
  readonly interrupt?: AbortSignal;
  /** Before the launch, ends the run as 'not-run'; after it, kills the task. */
  readonly timeoutMs?: number;
  /** The framework's failover_timeout, and how long a lost master is waited for. */
  readonly failoverTimeoutMs?: number;
  /** The scheduler API's encoding (default JSON). */
  readonly codec?: 'json' | 'protobuf';
  /** Runs the command in a Docker container (`--docker-image`), as mesos-execute does. */
  readonly docker?: RunDockerOptions;
  /**
   * The task `agora run`'s prelude (bin/run-ahead.js) launched before this code loaded: its id,
   * the offer its ACCEPT took (one of the subscription's first offers, which this run reads
   * again) and the ACCEPT's answer. This run then sends no ACCEPT of its own for that offer.
   */
  readonly launchedAhead?: LaunchedAhead;
}

export interface LaunchedAhead {
  readonly taskId: string;
  readonly offerId: string;
  /** Undefined: no answer came (the connection broke): whether the master took it is unknown. */
  readonly answer: { readonly status: number; readonly body: string } | undefined;
}

/** How a run ended: its task's terminal state, no task at all, or interrupted before launch. */
export type RunOutcome = 'task-ended' | 'not-run' | 'interrupted';

export interface RunResult {
  readonly exitStatus: number;
  readonly outcome: RunOutcome;
  readonly state: TaskState | undefined;
  readonly taskId: string;
}

/**
 * Runs one task to completion. Throws the SDK's ConnectionError when the
 * master cannot be reached at the start; once subscribed, a lost master is
 * waited for (re-subscribing) up to the failover timeout.
 */
export async function runCommand(options: RunCommandOptions): Promise<RunResult> {
  // Unique within this framework trivially (it runs one task); the suffix tells runs apart in
  // listings. Math.random spares loading node:crypto (~4 ms of agora run's start-up).
  const suffix = Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, '0');
  const taskId = mintTaskId(options.launchedAhead?.taskId ?? `${options.name}-${suffix}`);
  const deadline =
    options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const notRun = (exitStatus: number, outcome: RunOutcome): RunResult => ({
    exitStatus,
    outcome,
    state: undefined,
    taskId: taskId.value,
  });
  const failoverTimeoutMs = options.failoverTimeoutMs ?? DEFAULT_FAILOVER_TIMEOUT_MS;
  // With a task launched by the prelude the subscription must be taken up (its bytes are read
  // already) even when interrupted: the run then kills that task rather than leave it.
  const stop = [
    options.launchedAhead === undefined ? options.interrupt : undefined,
    deadline,
  ].filter((s) => s !== undefined);
  let connection: SchedulerConnection;
  try {
    connection = await subscribe({
      master: options.master,
      frameworkInfo: {
        user: userInfo().username,
        name: options.name,
        role: options.role,
        failover_timeout: failoverTimeoutMs / 1000,
        capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
      },
      failover: {
        timeoutMs: failoverTimeoutMs,
        onDisconnected: (reason) =>
          options.report?.(`lost the master (${reason.message}); re-subscribing`),
      },
      // One signal as it is: AbortSignal.any costs a module load and a listener on the path
      // to the first request (#7 item 17).
      ...(stop.length > 0 ? { signal: stop.length === 1 ? stop[0] : AbortSignal.any(stop) } : {}),
      ...(options.codec !== undefined ? { codec: options.codec } : {}),
    });
  } catch (error) {
    if (options.interrupt?.aborted === true) return notRun(EXIT_INTERRUPTED, 'interrupted');
    if (deadline?.aborted === true) {
      options.stderr.write('agora run: the timeout passed before the master answered\n');
      return notRun(EXIT_COULD_NOT_RUN, 'not-run');
    }
    throw error;
  }
  const run = new TaskRun(connection, options, taskId, deadline);
  try {
    return await run.wait();
  } finally {
    // The framework has nothing left to do: the master may forget it now rather than
    // keep it for its failover timeout. The TEARDOWN goes out while the last of the output
    // is read, not after it: the sandbox stays (until --gc_delay after the terminal update's
    // acknowledgement), and this process's exit waits for both.
    await Promise.all([run.stopOutput(), connection.close({ teardown: true })]);
  }
}

class TaskRun {
  private isLaunched = false;
  private launching: Promise<unknown> = Promise.resolve();
  private agentId: AgentID | undefined;
  private agentUrl: URL | undefined;
  private isKillWanted = false;
  private isKillSent = false;
  private lastState: TaskState | undefined;
  private readonly output: OutputPump[] = [];
  private readonly waitingSinceMs = performance.now();
  private lastDiagnosisMs = Number.NEGATIVE_INFINITY;
  private isDiagnosing = false;
  private lastWaitingKind: WaitingKind | undefined;
  private lastWaitingMessage: string | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconcileRetryMs = RECONCILE_RETRY_INITIAL_MS;
  private finish: (result: RunResult) => void = () => undefined;
  /** The prelude's launch, until the offers it took come by (read again from the start). */
  private launchedAhead: LaunchedAhead | undefined;

  constructor(
    private readonly connection: SchedulerConnection,
    private readonly options: RunCommandOptions,
    private readonly taskId: TaskID,
    private readonly deadline: AbortSignal | undefined,
  ) {
    this.launchedAhead = options.launchedAhead;
  }

  async wait(): Promise<RunResult> {
    const finished = new Promise<RunResult>((resolve) => {
      this.finish = resolve;
    });
    const onInterrupt = () => this.stopWanted('interrupted');
    const onTimeout = () => this.stopWanted('timeout');
    this.options.interrupt?.addEventListener('abort', onInterrupt, { once: true });
    this.deadline?.addEventListener('abort', onTimeout, { once: true });
    const waiting = setInterval(() => void this.diagnose(), DIAGNOSIS_INTERVAL_MS);
    try {
      // Either may have fired while subscribing.
      if (this.options.interrupt?.aborted === true) onInterrupt();
      else if (this.deadline?.aborted === true) onTimeout();
      return await Promise.race([finished, this.follow()]);
    } finally {
      clearInterval(waiting);
      clearTimeout(this.reconcileTimer);
      this.options.interrupt?.removeEventListener('abort', onInterrupt);
      this.deadline?.removeEventListener('abort', onTimeout);
    }
  }

  /** Reads events until the task's terminal state (or an end that leaves none). */
  private async follow(): Promise<RunResult> {
    try {
      for await (const event of this.connection.events()) {
        if (event.type === 'OFFERS') await this.offers(event.offers.offers);
        else if (event.type === 'SUBSCRIBED') await this.resubscribed();
        else if (
          event.type === 'UPDATE' &&
          event.update.status.task_id.value === this.taskId.value
        ) {
          const result = await this.update(event.update.status);
          if (result !== undefined) return result;
        } else if (event.type === 'ERROR') {
          this.options.stderr.write(
            `agora run: the master ended the subscription: ${event.error.message}\n`,
          );
          return this.notRun(EXIT_COULD_NOT_RUN, 'not-run');
        }
      }
      return this.notRun(EXIT_COULD_NOT_RUN, 'not-run');
    } catch (error) {
      if (!(error instanceof SubscriptionError)) throw error;
      this.options.stderr.write(
        `agora run: ${error.message}${this.isLaunched ? `; task ${this.taskId.value} may still be running` : ''}\n`,
      );
      return this.notRun(EXIT_COULD_NOT_RUN, 'not-run');
    }
  }

  private notRun(exitStatus: number, outcome: RunOutcome): RunResult {
    return { exitStatus, outcome, state: undefined, taskId: this.taskId.value };
  }

  /** Ctrl-C or --timeout: before the launch the run ends now; after it the task is killed. */
  private stopWanted(why: 'interrupted' | 'timeout'): void {
    // A task the prelude launched is launched, though its offers are not read again yet.
    if (this.isLaunched || this.launchedAhead !== undefined) {
      if (why === 'timeout') this.options.stderr.write('agora run: --timeout passed\n');
      void this.kill();
      return;
    }
    if (why === 'timeout') {
      const reason = this.lastWaitingMessage !== undefined ? ` (${this.lastWaitingMessage})` : '';
      this.options.stderr.write(`agora run: --timeout passed before any offer fit${reason}\n`);
      this.finish(this.notRun(EXIT_COULD_NOT_RUN, 'not-run'));
    } else this.finish(this.notRun(EXIT_INTERRUPTED, 'interrupted'));
  }

  private async offers(offers: readonly Offer[]): Promise<void> {
    const ids = offers.map((o) => o.id);
    // The prelude's launch is taken whatever came since (a Ctrl-C now kills that task).
    const ahead = this.launchedAhead;
    this.launchedAhead = undefined;
    if (
      ahead === undefined &&
      (this.isLaunched || this.isKillWanted || this.options.interrupt?.aborted === true)
    ) {
      await this.connection
        .decline(ids, { refuse_seconds: AFTER_LAUNCH_REFUSE_SECONDS })
        .catch(() => undefined);
      return;
    }
    const fit =
      ahead !== undefined
        ? (offers.find((offer) => offer.id.value === ahead.offerId) ?? this.bestOffer(offers))
        : this.bestOffer(offers);
    if (fit === undefined) {
      await this.connection
        .decline(ids, { refuse_seconds: MISFIT_REFUSE_SECONDS })
        .catch(() => undefined); // An offer not declined is rescinded when the master goes.
      await this.diagnose();
      return;
    }
    this.isLaunched = true;
    this.agentId = fit.agent_id;
    this.agentUrl = new URL(
      // The agent speaks what the master speaks: TLS is on for the whole cluster or for none.
      `${this.connection.master.protocol}//${fit.url.address.ip ?? fit.url.address.hostname}:${fit.url.address.port}`,
    );
    const docker = this.options.docker;
    const ports = docker === undefined ? undefined : takePorts(fit, docker.containerPorts.length);
    const task: TaskInfo = {
      name: this.options.name,
      task_id: this.taskId,
      agent_id: fit.agent_id,
      resources: [
        ...this.options.resources.toWire('pre-refinement'),
        ...(ports?.resource !== undefined ? [ports.resource] : []),
      ],
      command: this.options.command,
      ...(docker !== undefined
        ? { container: dockerContainerInfo(docker, ports?.hostPorts ?? []) }
        : {}),
    };
    for (const [i, containerPort] of (docker?.containerPorts ?? []).entries())
      this.report(`container port ${containerPort} is ${fit.hostname}:${ports?.hostPorts[i]}`);
    const others = offers.filter((o) => o !== fit).map((o) => o.id);
    const accepted =
      ahead !== undefined && fit.id.value === ahead.offerId
        ? answeredAhead(ahead)
        : this.connection.accept([fit.id], [{ type: 'LAUNCH', launch: { task_infos: [task] } }], {
            refuse_seconds: AFTER_LAUNCH_REFUSE_SECONDS,
          });
    this.launching = accepted;
    // The other offers' DECLINE and the SUPPRESS go once the ACCEPT is answered, not beside
    // it: the master handles every call it reads in one loop turn before it flushes that
    // turn's writes, so calls read with the ACCEPT held back its RUN_TASK to the agent
    // (#7 item 17). Nothing is offered meanwhile: the other offers are still outstanding and
    // the ACCEPT's filter covers what it leaves of its own. Failures are harmless: offers
    // after the launch are declined as they come, and a re-subscription suppresses again.
    void accepted
      .catch(() => undefined)
      .then(() =>
        Promise.all([
          others.length > 0
            ? this.connection.decline(others, { refuse_seconds: AFTER_LAUNCH_REFUSE_SECONDS })
            : undefined,
          this.connection.suppress(),
        ]),
      )
      .catch(() => undefined);
    try {
      await accepted;
      this.report(`task ${this.taskId.value} launched on ${fit.hostname}`);
    } catch (error) {
      // Whether the master took the ACCEPT is unknown: reconciliation after the
      // re-subscription tells (TASK_DROPPED or TASK_UNKNOWN if it did not).
      this.options.stderr.write(
        `agora run: launching on ${fit.hostname} may have failed: ${(error as Error).message}\n`,
      );
    }
  }

  /**
   * Of the offers the task fits in, the one placement's min-delay picks: where
   * the task takes the smallest share of what is free, so later tasks keep room.
   */
  private bestOffer(offers: readonly Offer[]): Offer | undefined {
    const portsWanted = this.options.docker?.containerPorts.length ?? 0;
    const fitting = offers.filter(
      (offer) =>
        Resources.fromWire(offer.resources).unallocate().contains(this.options.resources) &&
        (portsWanted === 0 || takePorts(offer, portsWanted) !== undefined),
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

  /**
   * No fitting offer yet: ends the run if no agent could ever hold the task,
   * and after WAITING_NOTICE_MS says why it waits, again only when the reason
   * changes. At most one look at the master per DIAGNOSIS_INTERVAL_MS.
   */
  private async diagnose(): Promise<void> {
    const now = performance.now();
    if (this.isLaunched || this.isDiagnosing || now - this.lastDiagnosisMs < DIAGNOSIS_INTERVAL_MS)
      return;
    this.isDiagnosing = true;
    this.lastDiagnosisMs = now;
    try {
      const master = this.connection.master;
      const [{ slaves }, { roles }] = await Promise.all([
        getJson<{ slaves: AgentView[] }>(new URL('/master/slaves', master)),
        getJson<{ roles: RoleView[] }>(new URL('/master/roles', master)),
      ]);
      if (this.isLaunched) return;
      const reason = whyWaiting(
        offerFree(this.options.resources),
        this.options.role,
        slaves,
        roles,
      );
      this.lastWaitingMessage = reason.message;
      if (reason.kind === 'never-fits') {
        this.options.stderr.write(`agora run: ${reason.message}\n`);
        this.finish(this.notRun(EXIT_COULD_NOT_RUN, 'not-run'));
        return;
      }
      if (performance.now() - this.waitingSinceMs < WAITING_NOTICE_MS) return;
      if (reason.kind === this.lastWaitingKind) return;
      this.lastWaitingKind = reason.kind;
      this.options.stderr.write(`agora run: waiting for an offer: ${reason.message}\n`);
    } catch {
      // The master is away or busy: the next look (or a re-subscription) tells.
    } finally {
      this.isDiagnosing = false;
    }
  }

  private async update(status: TaskStatus): Promise<RunResult | undefined> {
    // Reconciliation repeats states already known; report only news.
    if (status.state !== this.lastState)
      this.report(
        `task ${this.taskId.value} is ${status.state}${status.message !== undefined ? `: ${status.message}` : ''}`,
      );
    this.lastState = status.state;
    if (status.reason === 'REASON_RECONCILIATION') this.reconcileAnswered(status.state);
    // Followed from STARTING, though the agent points the sandbox's `runs/latest` at the run
    // only just before RUNNING and the reads until then find nothing (for a Docker task ~6
    // while dockerd creates and starts its container): they make the connections to the
    // agent, and the last read at the task's end then finds one idle. Pumps started at
    // RUNNING instead dialled at the end (RUNNING → exit 26-38 ms longer at load
    // 15-36, bench/RESULTS.md), or read while a short task ended. A run that saw neither
    // (a failed launch, updates missed while the master was away) reads the files once at
    // its end.
    if (
      (status.state === 'TASK_STARTING' || status.state === 'TASK_RUNNING') &&
      this.output.length === 0
    )
      this.startOutput(true);
    if (!isTerminalState(status.state)) return undefined;
    if (this.output.length === 0) this.startOutput(false);
    return {
      exitStatus: exitStatusOf(status),
      outcome: 'task-ended',
      state: status.state,
      taskId: this.taskId.value,
    };
  }

  /**
   * A new SUBSCRIBED after the master was lost. Offers are wanted again only
   * if nothing was launched; otherwise ask for the task's state explicitly
   * (a terminal update may have been missed) and re-send a kill not delivered.
   *
   * Known gap (master, not here): a task that ends while no master listens is
   * reported by its re-registering agent as terminal, which a restarted master
   * does not adopt; it then acknowledges the agent's TASK_FINISHED itself and
   * answers RECONCILE with TASK_GONE, so such a run exits 125.
   */
  private async resubscribed(): Promise<void> {
    this.report(`re-subscribed to the master at ${this.connection.master.host}`);
    try {
      if (!this.isLaunched) return;
      await this.connection.suppress();
      this.reconcileRetryMs = RECONCILE_RETRY_INITIAL_MS;
      await this.reconcile();
      if (this.isKillWanted) {
        this.isKillSent = false;
        await this.kill();
      }
    } catch {
      // The new stream broke too; the next SUBSCRIBED comes back here.
    }
  }

  private reconcile(): Promise<void> {
    clearTimeout(this.reconcileTimer);
    return this.connection.reconcile([
      { task_id: this.taskId, ...(this.agentId !== undefined ? { agent_id: this.agentId } : {}) },
    ]);
  }

  /** A master that restarted learns the task when its agent re-registers: ask again until then. */
  private reconcileAnswered(state: TaskState): void {
    if (state !== 'TASK_UNKNOWN' && state !== 'TASK_UNREACHABLE') return;
    clearTimeout(this.reconcileTimer);
    this.reconcileTimer = setTimeout(() => {
      void this.reconcile().catch(() => undefined);
    }, this.reconcileRetryMs);
    this.reconcileRetryMs = Math.min(this.reconcileRetryMs * 2, RECONCILE_RETRY_MAX_MS);
  }

  private async kill(): Promise<void> {
    this.isKillWanted = true;
    if (this.isKillSent) return;
    this.isKillSent = true;
    // The KILL must not overtake the ACCEPT that launches the task.
    await this.launching.catch(() => undefined);
    this.report(`killing task ${this.taskId.value}`);
    try {
      await this.connection.kill(this.taskId, this.agentId);
    } catch (error) {
      // Sent again after the next re-subscription.
      this.isKillSent = false;
      this.options.stderr.write(
        `agora run: could not kill the task yet: ${(error as Error).message}\n`,
      );
    }
  }

  /** `isFollowing`: poll while the task runs; else only the final read (stopOutput). */
  private startOutput(isFollowing: boolean): void {
    const agent = this.agentUrl;
    if (agent === undefined) return;
    const frameworkId = this.connection.frameworkId.value;
    // The master relays sandbox reads over the agent's own link, for an agent behind NAT.
    const relay =
      this.agentId === undefined
        ? undefined
        : new URL(
            `/master/agents/${encodeURIComponent(this.agentId.value)}/`,
            this.connection.master,
          );
    for (const [file, sink] of [
      ['stdout', this.options.stdout],
      ['stderr', this.options.stderr],
    ] as const) {
      const pump = new OutputPump(
        [agent, ...(relay === undefined ? [] : [relay])],
        sandboxPath(frameworkId, this.taskId.value, file),
        sink,
      );
      if (isFollowing) pump.start();
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

/** The prelude's ACCEPT as the SDK's accept() would have ended: 202, else an error. */
function answeredAhead(ahead: LaunchedAhead): Promise<void> {
  const answer = ahead.answer;
  if (answer === undefined)
    return Promise.reject(new Error('the connection closed before the master answered'));
  if (answer.status === 202) return Promise.resolve();
  return Promise.reject(
    new Error(
      `the master answered ${answer.status}${answer.body !== '' ? `: ${answer.body}` : ''}`,
    ),
  );
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
