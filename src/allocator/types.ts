import type { Resources } from '../resources/index.js';
import type { AgentID, FrameworkID } from '../wire/index.js';

/**
 * What the master tells the allocator. The allocator is pure: it keeps its own
 * books from these events and decides offers when asked, at a time the caller
 * gives (ARCHITECTURE principle 1).
 */
export type AllocatorEvent =
  | {
      readonly kind: 'agentAdded';
      readonly agentId: AgentID;
      readonly total: Resources;
      /** Resources already in use on the agent (tasks it re-registered with), per framework. */
      readonly used: ReadonlyMap<string, Resources>;
    }
  | { readonly kind: 'agentRemoved'; readonly agentId: AgentID }
  | { readonly kind: 'agentActivated'; readonly agentId: AgentID }
  | { readonly kind: 'agentDeactivated'; readonly agentId: AgentID }
  | {
      readonly kind: 'frameworkAdded';
      readonly frameworkId: FrameworkID;
      readonly roles: readonly string[];
      readonly suppressedRoles: readonly string[];
      /** Resources the framework already uses (after a master failover), per agent. */
      readonly used: ReadonlyMap<string, Resources>;
    }
  | {
      readonly kind: 'frameworkUpdated';
      readonly frameworkId: FrameworkID;
      readonly roles: readonly string[];
      readonly suppressedRoles: readonly string[];
    }
  | { readonly kind: 'frameworkRemoved'; readonly frameworkId: FrameworkID }
  | { readonly kind: 'frameworkActivated'; readonly frameworkId: FrameworkID }
  | { readonly kind: 'frameworkDeactivated'; readonly frameworkId: FrameworkID }
  | {
      /**
       * Allocated resources come back: an offer declined, rescinded or left
       * over after ACCEPT, or a task ended. With `refuseMs`, the framework
       * does not see these resources of this agent again for that long.
       */
      readonly kind: 'resourcesRecovered';
      readonly frameworkId: FrameworkID;
      readonly agentId: AgentID;
      readonly resources: Resources;
      readonly refuseMs?: number;
    }
  | {
      /** Resources used by a framework that the allocator did not offer (e.g. a re-registered task). */
      readonly kind: 'resourcesUsed';
      readonly frameworkId: FrameworkID;
      readonly agentId: AgentID;
      readonly resources: Resources;
    }
  | {
      readonly kind: 'offersSuppressed';
      readonly frameworkId: FrameworkID;
      /** Empty means all of the framework's roles. */
      readonly roles: readonly string[];
    }
  | {
      readonly kind: 'offersRevived';
      readonly frameworkId: FrameworkID;
      readonly roles: readonly string[];
    };

export type AllocatorEventKind = AllocatorEvent['kind'];

/** One decision: offer these resources of this agent to this framework, for this role. */
export interface Allocation {
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
  readonly role: string;
  /** Carries allocation_info for `role`. */
  readonly resources: Resources;
}

export interface Allocator {
  /** Updates the books. Never throws for an event that fits the current books. */
  handle(event: AllocatorEvent, nowMs: number): void;
  /** Decides offers from everything not yet allocated; the result is allocated from then on. */
  allocate(nowMs: number): readonly Allocation[];
}
