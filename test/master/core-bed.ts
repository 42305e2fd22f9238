// A bed for the master's core: a MasterCore on a ManualClock with the real
// (pure) allocator, driven through the entity modules' commands, its outbox
// read back as what each stream would have received. No socket, no disk.
import assert from 'node:assert/strict';
import { HierarchicalAllocator } from '../../src/allocator/index.js';
import { accept } from '../../src/master/core/accept.js';
import * as agents from '../../src/master/core/agents.js';
import { MasterCore } from '../../src/master/core/core.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import type { MasterEffect } from '../../src/master/core/outbox.js';
import type { RemovalRate } from '../../src/master/core/removal-limiter.js';
import * as tasks from '../../src/master/core/tasks.js';
import { Resources } from '../../src/resources/index.js';
import { ManualClock, silentLogger } from '../../src/runtime/index.js';
import { mulberry32 } from '../../src/sim/index.js';
import {
  type AgentEvent,
  type AgentTask,
  type DomainInfo,
  type Event,
  type FrameworkID,
  type FrameworkInfo,
  MESOS_API_VERSION,
  newStatusUuid,
  type Offer,
  type TaskState,
  type TaskStatus,
  taskId,
} from '../../src/wire/index.js';

export const CORE_DEFAULTS: {
  readonly heartbeatIntervalMs: number;
  readonly agentReregisterTimeoutMs: number;
  readonly agentPingTimeoutMs: number;
  readonly maxAgentPingTimeouts: number;
  readonly frameworkReregisterTimeoutMs: number;
  readonly allocationIntervalMs: number;
} = {
  heartbeatIntervalMs: 15_000,
  agentReregisterTimeoutMs: 600_000,
  agentPingTimeoutMs: 15_000,
  maxAgentPingTimeouts: 5,
  frameworkReregisterTimeoutMs: 10_000,
  allocationIntervalMs: 1000,
};

export interface AgentOptions {
  readonly id?: string;
  readonly tasks?: readonly AgentTask[];
  readonly hostname?: string;
  /** The address the agent connects from. */
  readonly ip?: string;
  readonly domain?: DomainInfo;
}

export class CoreBed {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly core: MasterCore;
  /** Every effect taken from the outbox so far, in order. */
  readonly effects: MasterEffect[] = [];
  private nextStream = 0;

  constructor(
    options: Partial<typeof CORE_DEFAULTS> & {
      offerTimeoutMs?: number;
      agentRemovalRateLimit?: RemovalRate;
      /** The master's --domain. */
      domain?: DomainInfo;
    } = {},
  ) {
    const { domain, ...coreOptions } = options;
    this.core = new MasterCore({
      masterId: 'm',
      allocator: new HierarchicalAllocator({ random: mulberry32(7) }),
      clock: this.clock,
      logger: silentLogger(),
      ...CORE_DEFAULTS,
      ...coreOptions,
    });
    this.core.setMasterInfo({
      id: 'm',
      ip: 0,
      port: 5050,
      pid: 'master@127.0.0.1:5050',
      hostname: 'localhost',
      version: MESOS_API_VERSION,
      ...(domain !== undefined ? { domain } : {}),
    });
    this.core.start();
  }

  newStreamId(): string {
    return `stream-${this.nextStream++}`;
  }

  /** Moves time (timers fire, the allocator runs on its schedule) and collects effects. */
  advance(ms: number): void {
    this.clock.advance(ms);
    this.drain();
  }

  drain(): MasterEffect[] {
    const taken = this.core.outbox.take();
    this.effects.push(...taken);
    return taken;
  }

  /** What a framework's stream received, in order. */
  eventsOn(streamId: string): Event[] {
    this.drain();
    return this.effects.flatMap((e) =>
      e.kind === 'toFramework' && e.streamId === streamId ? [e.event] : [],
    );
  }

  commandsOn(streamId: string): AgentEvent[] {
    this.drain();
    return this.effects.flatMap((e) =>
      e.kind === 'toAgent' && e.streamId === streamId ? [e.event] : [],
    );
  }

  updatesOn(streamId: string): TaskStatus[] {
    return this.eventsOn(streamId).flatMap((e) => (e.type === 'UPDATE' ? [e.update.status] : []));
  }

  offersOn(streamId: string): Offer[] {
    return this.eventsOn(streamId).flatMap((e) => (e.type === 'OFFERS' ? e.offers.offers : []));
  }

  addAgent(
    resources = 'cpus:4;mem:4096',
    options: AgentOptions = {},
  ): { readonly id: string; readonly streamId: string } {
    const { id, streamId } = this.tryAddAgent(resources, options);
    if (id === undefined)
      throw new Error(`agent refused: ${JSON.stringify(this.commandsOn(streamId))}`);
    return { id, streamId };
  }

  /** An agent's SUBSCRIBE, which the master may refuse (then `id` is undefined). */
  tryAddAgent(
    resources = 'cpus:4;mem:4096',
    options: AgentOptions = {},
  ): { readonly id: string | undefined; readonly streamId: string } {
    const streamId = this.newStreamId();
    const id = agents.subscribe(
      this.core,
      {
        agent_info: {
          hostname: options.hostname ?? 'host',
          port: 5051,
          resources: Resources.parse(resources).toWire('post-refinement'),
          ...(options.domain !== undefined ? { domain: options.domain } : {}),
        },
        version: MESOS_API_VERSION,
        tasks: options.tasks ?? [],
      },
      options.id,
      options.ip ?? '127.0.0.1',
      streamId,
    );
    this.drain();
    return { id: id?.value, streamId };
  }

  agent(idValue: string) {
    const agent = this.core.books.agents.get(idValue);
    if (agent === undefined) throw new Error(`no agent ${idValue}`);
    return agent;
  }

  /**
   * Launches one 1-cpu task on the framework's newest offer (of `agentId`, if
   * given); returns the agent id value it went to.
   */
  launch(
    fw: { readonly id: FrameworkID; readonly streamId: string },
    id: string,
    agentId?: string,
  ): string {
    this.advance(0);
    const offer = this.offersOn(fw.streamId)
      .filter((o) => this.core.books.offers.has(o.id.value))
      .filter((o) => agentId === undefined || o.agent_id.value === agentId)
      .at(-1);
    assert.ok(offer !== undefined, `an outstanding offer for ${id}`);
    accept(this.core, this.framework(fw.id), {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: id,
                task_id: taskId(id),
                agent_id: offer.agent_id,
                resources: Resources.parse('cpus:1;mem:128').toWire('pre-refinement'),
                command: { value: 'sleep 100' },
              },
            ],
          },
        },
      ],
    });
    this.drain();
    return offer.agent_id.value;
  }

  /** The agent reports a task's state, as its executor would (with a uuid to acknowledge). */
  report(agentId: string, frameworkId: FrameworkID, id: string, state: TaskState): TaskStatus {
    const status: TaskStatus = {
      task_id: taskId(id),
      state,
      source: 'SOURCE_EXECUTOR',
      uuid: newStatusUuid(),
    };
    tasks.statusUpdate(this.core, this.agent(agentId), frameworkId.value, status);
    this.drain();
    return status;
  }

  /** The framework acknowledges an update the agent reported. */
  acknowledge(agentId: string, frameworkId: FrameworkID, status: TaskStatus): void {
    assert.ok(status.uuid !== undefined);
    tasks.acknowledge(
      this.core,
      this.framework(frameworkId),
      agentId,
      status.task_id.value,
      status.uuid,
    );
    this.drain();
  }

  subscribe(info: Partial<FrameworkInfo> = {}): {
    readonly id: FrameworkID;
    readonly streamId: string;
  } {
    const streamId = this.newStreamId();
    const id = frameworks.subscribe(
      this.core,
      { framework_info: { user: 'u', name: 'f', ...info } },
      streamId,
      undefined,
    );
    if (id === undefined)
      throw new Error(`subscription refused: ${JSON.stringify(this.eventsOn(streamId))}`);
    this.drain();
    return { id, streamId };
  }

  framework(id: FrameworkID) {
    const framework = this.core.books.frameworks.get(id.value);
    if (framework === undefined) throw new Error(`no framework ${id.value}`);
    return framework;
  }
}
