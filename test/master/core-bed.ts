// A bed for the master's core: a MasterCore on a ManualClock with the real
// (pure) allocator, driven through the entity modules' commands, its outbox
// read back as what each stream would have received. No socket, no disk.
import { HierarchicalAllocator } from '../../src/allocator/index.js';
import * as agents from '../../src/master/core/agents.js';
import { MasterCore } from '../../src/master/core/core.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import type { MasterEffect } from '../../src/master/core/outbox.js';
import { Resources } from '../../src/resources/index.js';
import { ManualClock, silentLogger } from '../../src/runtime/index.js';
import { mulberry32 } from '../../src/sim/index.js';
import type {
  AgentEvent,
  AgentTask,
  Event,
  FrameworkID,
  FrameworkInfo,
  Offer,
  TaskStatus,
} from '../../src/wire/index.js';
import { MESOS_API_VERSION } from '../../src/wire/index.js';

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

export class CoreBed {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly core: MasterCore;
  /** Every effect taken from the outbox so far, in order. */
  readonly effects: MasterEffect[] = [];
  private nextStream = 0;

  constructor(options: Partial<typeof CORE_DEFAULTS> & { offerTimeoutMs?: number } = {}) {
    this.core = new MasterCore({
      masterId: 'm',
      allocator: new HierarchicalAllocator({ random: mulberry32(7) }),
      clock: this.clock,
      logger: silentLogger(),
      ...CORE_DEFAULTS,
      ...options,
    });
    this.core.setMasterInfo({
      id: 'm',
      ip: 0,
      port: 5050,
      pid: 'master@127.0.0.1:5050',
      hostname: 'localhost',
      version: MESOS_API_VERSION,
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
    options: { readonly id?: string; readonly tasks?: readonly AgentTask[] } = {},
  ): { readonly id: string; readonly streamId: string } {
    const streamId = this.newStreamId();
    const id = agents.subscribe(
      this.core,
      {
        agent_info: {
          hostname: 'host',
          port: 5051,
          resources: Resources.parse(resources).toWire('post-refinement'),
        },
        version: MESOS_API_VERSION,
        tasks: options.tasks ?? [],
      },
      options.id,
      '127.0.0.1',
      streamId,
    );
    this.drain();
    if (id === undefined) throw new Error('agent refused');
    return { id: id.value, streamId };
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
