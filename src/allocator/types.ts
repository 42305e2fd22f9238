import type { Resources } from '../resources/index.js';
import type { AgentID, FrameworkID } from '../wire/index.js';

/** What a framework can receive, as far as allocation is concerned. */
export interface FrameworkCapabilities {
  /** RESERVATION_REFINEMENT: may be offered refined (stacked) reservations. */
  readonly reservationRefinement: boolean;
  /** REGION_AWARE: may be offered agents in another region than the master's. */
  readonly regionAware?: boolean;
}

/**
 * FrameworkInfo.offer_filters: per role, alternatives of scalar quantities in units (cpus,
 * MB); an offer to the role must hold one in full. It replaces --min_allocatable_resources
 * for that role (Mesos 1.11); an empty list lets any offer through. Roles absent: global.
 */
export type MinAllocatableByRole = ReadonlyMap<string, readonly Readonly<Record<string, number>>[]>;

export interface QuotaConfig {
  readonly role: string;
  /** Scalar quantities in units (cpus, MB): what the role is guaranteed. */
  readonly guarantees: Readonly<Record<string, number>>;
  /** What the role may never exceed. */
  readonly limits: Readonly<Record<string, number>>;
}

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
      /**
       * In another region than the master's (docs/fault-domains.md): offered
       * only to REGION_AWARE frameworks.
       */
      readonly isRemote?: boolean;
    }
  | { readonly kind: 'agentRemoved'; readonly agentId: AgentID }
  | { readonly kind: 'agentActivated'; readonly agentId: AgentID }
  | { readonly kind: 'agentDeactivated'; readonly agentId: AgentID }
  | {
      /**
       * Draining or in maintenance: not offered while true. The seam for
       * maintenance schedules and inverse offers.
       */
      readonly kind: 'agentDraining';
      readonly agentId: AgentID;
      readonly isDraining: boolean;
    }
  | {
      /** Unallocated resources changed form (an operator's RESERVE or UNRESERVE). */
      readonly kind: 'availableConverted';
      readonly agentId: AgentID;
      readonly from: Resources;
      readonly to: Resources;
    }
  | {
      /** Allocated resources changed form (a framework's RESERVE or UNRESERVE on its offer). */
      readonly kind: 'allocationConverted';
      readonly frameworkId: FrameworkID;
      readonly agentId: AgentID;
      readonly from: Resources;
      readonly to: Resources;
    }
  | {
      readonly kind: 'frameworkAdded';
      readonly frameworkId: FrameworkID;
      readonly roles: readonly string[];
      readonly suppressedRoles: readonly string[];
      /** Resources the framework already uses (after a master failover), per agent. */
      readonly used: ReadonlyMap<string, Resources>;
      readonly capabilities?: FrameworkCapabilities;
      readonly minAllocatable?: MinAllocatableByRole;
    }
  | {
      readonly kind: 'frameworkUpdated';
      readonly frameworkId: FrameworkID;
      readonly roles: readonly string[];
      readonly suppressedRoles: readonly string[];
      readonly capabilities?: FrameworkCapabilities;
      readonly minAllocatable?: MinAllocatableByRole;
    }
  | {
      /**
       * The framework's offer constraints exclude (or no longer exclude) an agent for one of
       * its roles: that role is never offered the agent. The master evaluates constraints
       * once per (framework role, agent) change; the allocator only looks this up.
       */
      readonly kind: 'agentExcluded';
      readonly frameworkId: FrameworkID;
      readonly role: string;
      readonly agentId: AgentID;
      readonly isExcluded: boolean;
    }
  | { readonly kind: 'frameworkRemoved'; readonly frameworkId: FrameworkID }
  | { readonly kind: 'frameworkActivated'; readonly frameworkId: FrameworkID }
  | { readonly kind: 'frameworkDeactivated'; readonly frameworkId: FrameworkID }
  | {
      /**
       * Allocated resources come back: an offer declined, rescinded or left
       * over after ACCEPT, or a task ended. With `refuseMs`, the framework
       * does not see these resources of this agent again for that long
       * (a larger offer from the agent lifts the filter, as in Mesos).
       */
      readonly kind: 'resourcesRecovered';
      readonly frameworkId: FrameworkID;
      readonly agentId: AgentID;
      /** Carry allocation_info: the role they were allocated to. */
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
      /** Un-suppresses the roles and clears the framework's filters for them (empty: all roles). */
      readonly kind: 'offersRevived';
      readonly frameworkId: FrameworkID;
      readonly roles: readonly string[];
    }
  | {
      /** New weights; a role not listed keeps its weight. */
      readonly kind: 'weightsUpdated';
      readonly weights: readonly { readonly role: string; readonly weight: number }[];
    }
  | {
      /** New quota configs; a config with no guarantees and no limits removes the role's quota. */
      readonly kind: 'quotaUpdated';
      readonly configs: readonly QuotaConfig[];
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

/** A role as the allocator sees it, for `/roles`, GET_ROLES and metrics. Units, not thousandths. */
export interface RoleView {
  readonly name: string;
  readonly weight: number;
  /** Frameworks subscribed to exactly this role. */
  readonly frameworkIds: readonly string[];
  /** Offered or used by frameworks in this role and its sub-roles. */
  readonly allocated: Readonly<Record<string, number>>;
  /** Reserved to this role or its sub-roles, allocated or not. */
  readonly reserved: Readonly<Record<string, number>>;
  /** Quota consumption: unreserved allocations plus all reservations (Mesos' definition). */
  readonly consumed: Readonly<Record<string, number>>;
  readonly guarantees: Readonly<Record<string, number>>;
  readonly limits: Readonly<Record<string, number>>;
  /** Unweighted dominant share of the role's allocation, 0..1. */
  readonly dominantShare: number;
}

export interface Allocator {
  /** Updates the books. Never throws for an event that fits the current books. */
  handle(event: AllocatorEvent, nowMs: number): void;
  /** Decides offers from everything not yet allocated; the result is allocated from then on. */
  allocate(nowMs: number): readonly Allocation[];
  /** The roles the allocator knows (with frameworks, reservations, quota, weight or allocations). */
  roles(): readonly RoleView[];
}
