// The master's core: its books and everything its commands need, with no
// socket, disk or real clock of its own. The shell (../master.ts) builds one,
// calls the entity modules' commands on it, and drains its outbox; tests build
// one on a ManualClock and read the outbox instead.
import type { Allocator, QuotaConfig } from '../../allocator/index.js';
import type { Clock, Logger } from '../../runtime/index.js';
import { type MasterInfo, newStatusUuid } from '../../wire/index.js';
import { checkDrained } from './agent-admin.js';
import { pingTimedOut } from './agents.js';
import { AllocationBatcher } from './allocation-batcher.js';
import { Books } from './books.js';
import type { CoreContext, CoreOptions, RoleSettings } from './context.js';
import { DelayQueue } from './delay-queue.js';
import { sendInverseOffers } from './inverse-offers.js';
import { MasterMetrics } from './metrics.js';
import { allocate } from './offers.js';
import { Outbox } from './outbox.js';
import type { AgentRecord } from './records.js';
import { RemovalLimiter } from './removal-limiter.js';
import { Timers } from './timers.js';

export interface MasterCoreOptions extends CoreOptions {
  readonly masterId: string;
  readonly allocator: Allocator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly allocationIntervalMs: number;
  readonly allocationBatchWindowMs?: number;
  /** Called when the outbox goes from empty to not: the shell schedules a drain. */
  readonly onEffects?: () => void;
  /** Where UUIDs come from; random unless a test wants them predictable. */
  readonly newUuid?: () => string;
}

export class MasterCore implements CoreContext {
  readonly books: Books;
  readonly allocator: Allocator;
  readonly clock: Clock;
  readonly metrics = new MasterMetrics();
  readonly log: Logger;
  readonly outbox: Outbox;
  readonly timers: Timers;
  readonly pings: DelayQueue<AgentRecord>;
  readonly options: CoreOptions;
  readonly roles: RoleSettings = {
    weights: new Map<string, number>(),
    quotas: new Map<string, QuotaConfig>(),
  };
  readonly allocation: AllocationBatcher;
  readonly removals: RemovalLimiter;
  recoveredAtMs: number;
  isObserved = false;
  private info: MasterInfo | undefined;
  private readonly uuids: (() => string) | undefined;

  constructor(options: MasterCoreOptions) {
    this.books = new Books(options.masterId);
    this.allocator = options.allocator;
    this.clock = options.clock;
    this.log = options.logger;
    this.outbox = new Outbox(options.onEffects);
    this.timers = new Timers(options.clock);
    this.pings = new DelayQueue(options.clock, options.agentPingTimeoutMs, (agent) =>
      pingTimedOut(this, agent),
    );
    this.options = options;
    this.recoveredAtMs = options.clock.now();
    this.uuids = options.newUuid;
    this.removals = new RemovalLimiter(options.clock, this.timers, options.agentRemovalRateLimit);
    // Inverse offers go out with each cycle, as Mesos' allocator sends them.
    this.allocation = new AllocationBatcher(
      options.clock,
      options.allocationIntervalMs,
      () => {
        allocate(this);
        sendInverseOffers(this);
      },
      options.allocationBatchWindowMs,
    );
    this.books.onTaskRetired = (task) => this.checkDrainedSoon(task.agentId.value);
  }

  checkDrainedSoon(agentIdValue: string): void {
    if (this.books.agents.get(agentIdValue)?.drain?.state !== 'DRAINING') return;
    this.timers.arm(`drained:${agentIdValue}`, 0, () => checkDrained(this, agentIdValue));
  }

  newUuid(): string {
    return (this.uuids ?? newStatusUuid)();
  }

  masterInfo(): MasterInfo {
    if (this.info === undefined) throw new Error('master not started');
    return this.info;
  }

  /** The shell knows its address once it listens; from then on the core can hand it out. */
  setMasterInfo(info: MasterInfo): void {
    this.info = info;
  }

  /** Starts the allocation loop. */
  start(): void {
    this.allocation.start();
  }

  /** Cancels every timer the core holds. */
  stop(): void {
    this.allocation.stop();
    this.timers.cancelAll();
    this.pings.cancelAll();
  }
}
