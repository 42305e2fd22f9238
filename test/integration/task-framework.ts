// A small framework for integration tests: launches shell tasks on an offered
// agent and keeps every update it receives (each acknowledged by the SDK).
import { readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { readStat } from '../../src/agent/process-identity.js';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import {
  type Event,
  type FrameworkCapabilityType,
  isTerminalState,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  taskId,
} from '../../src/wire/index.js';
import { waitFor } from './harness.js';

/**
 * A task to launch: a shell command, or a command with more of TaskInfo (a
 * health check, a kill policy, URIs to fetch), or a custom executor's task.
 */
export type TaskSpec =
  | string
  | (Omit<Partial<TaskInfo>, 'task_id' | 'agent_id' | 'name' | 'command'> & {
      readonly command: NonNullable<TaskInfo['command']>;
    })
  // A task for a custom executor: no command of its own.
  | (Omit<Partial<TaskInfo>, 'task_id' | 'agent_id' | 'name' | 'command' | 'executor'> & {
      readonly executor: NonNullable<TaskInfo['executor']>;
    });

export class TaskFramework {
  private readonly seen: Event[] = [];
  /**
   * Between launches the framework suppresses offers and declines any that
   * were already on their way: the master offers freed resources again
   * within milliseconds, and a framework that kept them would starve others.
   */
  private isSuppressed = false;

  private constructor(
    readonly connection: SchedulerConnection,
    isAcknowledgingTerminal: boolean,
  ) {
    void (async () => {
      for await (const event of connection.events()) {
        if (event.type === 'OFFERS' && this.isSuppressed) {
          void connection.decline(event.offers.offers.map((o) => o.id)).catch(() => undefined);
          continue;
        }
        this.seen.push(event);
        const status = event.type === 'UPDATE' ? event.update.status : undefined;
        if (
          status?.uuid !== undefined &&
          (isAcknowledgingTerminal || !isTerminalState(status.state))
        )
          await connection.acknowledge(status).catch(() => undefined);
      }
    })().catch(() => undefined);
  }

  /**
   * `acknowledgeTerminal: false` leaves terminal updates unacknowledged (the
   * agent keeps resending them); every other update is acknowledged.
   */
  static async start(
    master: string,
    name: string,
    options: {
      readonly acknowledgeTerminal?: boolean;
      readonly failover?: boolean;
      readonly role?: string;
      /** e.g. PARTITION_AWARE, REGION_AWARE. */
      readonly capabilities?: readonly FrameworkCapabilityType[];
    } = {},
  ): Promise<TaskFramework> {
    return new TaskFramework(
      await subscribe({
        master,
        frameworkInfo: {
          // The user running the tests, as a real framework names its own: agents switch to
          // it (--switch_user, on by default), so it must exist on the host.
          user: userInfo().username,
          name,
          failover_timeout: 60,
          ...(options.role !== undefined ? { role: options.role } : {}),
          ...(options.capabilities !== undefined
            ? { capabilities: options.capabilities.map((type) => ({ type })) }
            : {}),
        },
        autoAcknowledge: false,
        // Re-subscribes with its id when its master goes, as a Mesos framework fails over.
        ...(options.failover === true ? { failover: { timeoutMs: 60_000 } } : {}),
      }),
      options.acknowledgeTerminal ?? true,
    );
  }

  /**
   * Launches one task per entry (task id -> shell command, 0.1 cpus and 32 MB
   * each) on the first offered agent (or `agentIdValue`'s); resolves with that
   * agent's id. Offers of other agents are declined.
   */
  async launch(
    commands: Readonly<Record<string, TaskSpec>>,
    agentIdValue?: string,
  ): Promise<string> {
    if (this.isSuppressed) {
      this.isSuppressed = false;
      await this.connection.revive();
    }
    const offer = await waitFor(
      `an offer${agentIdValue === undefined ? '' : ` of ${agentIdValue}`}`,
      () => {
        for (const event of this.seen)
          if (event.type === 'OFFERS')
            for (const candidate of event.offers.offers)
              if (agentIdValue === undefined || candidate.agent_id.value === agentIdValue) {
                this.seen.splice(this.seen.indexOf(event), 1);
                const others = event.offers.offers.filter((o) => o !== candidate);
                if (others.length > 0)
                  void this.connection.decline(
                    others.map((o) => o.id),
                    { refuse_seconds: 0 },
                  );
                return candidate;
              }
        return undefined;
      },
    );
    await this.connection.accept(
      [offer.id],
      [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: Object.entries(commands).map(([id, spec]) => ({
              ...(typeof spec === 'string' ? { command: { value: spec } } : spec),
              name: id,
              task_id: taskId(id),
              agent_id: offer.agent_id,
              // 0.1 cpus and 32 MB unless the spec says otherwise.
              resources: (typeof spec === 'string' ? undefined : spec.resources) ?? [
                { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } },
                { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
              ],
            })),
          },
        },
      ],
      { refuse_seconds: 0 },
    );
    this.isSuppressed = true;
    await this.connection.suppress();
    const held = this.seen.flatMap((event) => (event.type === 'OFFERS' ? event.offers.offers : []));
    this.seen.splice(0, this.seen.length, ...this.seen.filter((event) => event.type !== 'OFFERS'));
    if (held.length > 0)
      await this.connection.decline(held.map((o) => o.id)).catch(() => undefined);
    return offer.agent_id.value;
  }

  /** Waits for the first update of `taskIdValue` in `state`. */
  update(taskIdValue: string, state: TaskState, timeoutMs?: number): Promise<TaskStatus> {
    return waitFor(
      `${taskIdValue} to be ${state}`,
      () => this.updates(taskIdValue).find((status) => status.state === state),
      timeoutMs,
    );
  }

  /**
   * Kills `taskIdValue` and waits for its TASK_KILLED, sending the KILL again every 2 s as a
   * framework must (Mesos drops a KILL for a task whose agent is not connected: an agent
   * just restarted may not have re-registered yet).
   */
  async killUntilKilled(taskIdValue: string, timeoutMs = 60_000): Promise<TaskStatus> {
    let lastKillMs = Number.NEGATIVE_INFINITY;
    return waitFor(
      `${taskIdValue} to be TASK_KILLED`,
      async () => {
        const killed = this.updates(taskIdValue).find((s) => s.state === 'TASK_KILLED');
        if (killed !== undefined) return killed;
        if (performance.now() - lastKillMs >= 2_000) {
          lastKillMs = performance.now();
          await this.connection.kill(taskId(taskIdValue));
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Every event so far but offers, in order (SUBSCRIBED again after each failover). */
  get events(): readonly Event[] {
    return this.seen;
  }

  /** Every update of `taskIdValue` so far, in order. */
  updates(taskIdValue: string): TaskStatus[] {
    return this.seen.flatMap((event) =>
      event.type === 'UPDATE' && event.update.status.task_id.value === taskIdValue
        ? [event.update.status]
        : [],
    );
  }

  async stop(): Promise<void> {
    await this.connection.teardown().catch(() => undefined);
    await this.connection.close();
  }
}

/** The live processes of a task's process group, each with its start time. */
export function taskProcesses(pgid: number): Map<number, string> {
  const found = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat?.pgid === pgid) found.set(stat.pid, stat.startTime);
  }
  return found;
}

/** SIGKILLs each process still the one seen (same start time): never a recycled PID. */
export function killProcesses(processes: ReadonlyMap<number, string>): void {
  for (const [pid, startTime] of processes)
    if (readStat(pid)?.startTime === startTime) process.kill(pid, 'SIGKILL');
}
