import assert from 'node:assert';
import { Resources } from '../resources/index.js';
import { type AgentID, assertNever, type FrameworkID } from '../wire/index.js';
import type { Allocation, Allocator, AllocatorEvent } from './types.js';

interface AgentBooks {
  readonly agentId: AgentID;
  total: Resources;
  allocated: Resources;
  isActive: boolean;
}

interface FrameworkBooks {
  readonly frameworkId: FrameworkID;
  roles: readonly string[];
  suppressed: Set<string>;
  isActive: boolean;
  /** Sum of what the framework holds, across agents: the fewest-first order reads it. */
  allocated: Resources;
  /** agent id -> time (ms) until which this agent's resources are refused. */
  readonly refusedUntilMs: Map<string, number>;
}

/**
 * The walking skeleton's allocator: each free agent goes whole to the active
 * framework that holds the least CPU, first role first. It exists so the rest
 * of the system has an Allocator to drive; the hierarchical DRF allocator
 * (#4) replaces it behind the same interface.
 */
export class SimpleAllocator implements Allocator {
  private readonly agents = new Map<string, AgentBooks>();
  private readonly frameworks = new Map<string, FrameworkBooks>();

  handle(event: AllocatorEvent, _nowMs: number): void {
    switch (event.kind) {
      case 'agentAdded': {
        let allocated = Resources.EMPTY;
        for (const used of event.used.values()) allocated = allocated.plus(used);
        this.agents.set(event.agentId.value, {
          agentId: event.agentId,
          total: event.total,
          allocated,
          isActive: true,
        });
        for (const [frameworkId, used] of event.used) {
          const framework = this.frameworks.get(frameworkId);
          if (framework !== undefined) framework.allocated = framework.allocated.plus(used);
        }
        return;
      }
      case 'agentRemoved':
        this.agents.delete(event.agentId.value);
        return;
      case 'agentActivated':
      case 'agentDeactivated': {
        const agent = this.agents.get(event.agentId.value);
        if (agent !== undefined) agent.isActive = event.kind === 'agentActivated';
        return;
      }
      case 'frameworkAdded': {
        let allocated = Resources.EMPTY;
        for (const used of event.used.values()) allocated = allocated.plus(used);
        this.frameworks.set(event.frameworkId.value, {
          frameworkId: event.frameworkId,
          roles: event.roles,
          suppressed: new Set(event.suppressedRoles),
          isActive: true,
          allocated,
          refusedUntilMs: new Map(),
        });
        return;
      }
      case 'frameworkUpdated': {
        const framework = this.frameworks.get(event.frameworkId.value);
        if (framework === undefined) return;
        framework.roles = event.roles;
        framework.suppressed = new Set(event.suppressedRoles);
        return;
      }
      case 'frameworkRemoved':
        this.frameworks.delete(event.frameworkId.value);
        return;
      case 'frameworkActivated':
      case 'frameworkDeactivated': {
        const framework = this.frameworks.get(event.frameworkId.value);
        if (framework !== undefined) framework.isActive = event.kind === 'frameworkActivated';
        return;
      }
      case 'resourcesRecovered': {
        const agent = this.agents.get(event.agentId.value);
        const resources = event.resources.unallocate();
        if (agent !== undefined) {
          assert(
            agent.allocated.contains(resources),
            'recovered more than was allocated on the agent',
          );
          agent.allocated = agent.allocated.minus(resources);
        }
        const framework = this.frameworks.get(event.frameworkId.value);
        if (framework !== undefined) {
          if (framework.allocated.contains(resources))
            framework.allocated = framework.allocated.minus(resources);
          if (event.refuseMs !== undefined && event.refuseMs > 0)
            framework.refusedUntilMs.set(event.agentId.value, _nowMs + event.refuseMs);
        }
        return;
      }
      case 'resourcesUsed': {
        const resources = event.resources.unallocate();
        const agent = this.agents.get(event.agentId.value);
        if (agent !== undefined) agent.allocated = agent.allocated.plus(resources);
        const framework = this.frameworks.get(event.frameworkId.value);
        if (framework !== undefined) framework.allocated = framework.allocated.plus(resources);
        return;
      }
      case 'offersSuppressed':
      case 'offersRevived': {
        const framework = this.frameworks.get(event.frameworkId.value);
        if (framework === undefined) return;
        const roles = event.roles.length === 0 ? framework.roles : event.roles;
        for (const role of roles) {
          if (event.kind === 'offersSuppressed') framework.suppressed.add(role);
          else framework.suppressed.delete(role);
        }
        if (event.kind === 'offersRevived') framework.refusedUntilMs.clear();
        return;
      }
      default:
        assertNever(event);
    }
  }

  allocate(nowMs: number): readonly Allocation[] {
    const allocations: Allocation[] = [];
    for (const agent of this.agents.values()) {
      if (!agent.isActive) continue;
      const free = agent.total.minus(agent.allocated);
      if (free.scalar('cpus') < 0.01 && free.scalar('mem') < 32) continue;
      const candidates = [...this.frameworks.values()]
        .filter((f) => f.isActive && pickRole(f) !== undefined && !isRefused(f, agent, nowMs))
        .sort((a, b) => a.allocated.scalar('cpus') - b.allocated.scalar('cpus'));
      // The first framework (least CPU) that may take something here: resources reserved
      // to one role must not wait for another role's framework.
      let framework: FrameworkBooks | undefined;
      let role: string | undefined;
      let offerable = Resources.EMPTY;
      for (const candidate of candidates) {
        role = pickRole(candidate);
        if (role === undefined) continue;
        offerable = free.unreserved().plus(free.reserved(role));
        if (!offerable.isEmpty()) {
          framework = candidate;
          break;
        }
      }
      if (framework === undefined || role === undefined) continue;
      agent.allocated = agent.allocated.plus(offerable);
      framework.allocated = framework.allocated.plus(offerable);
      allocations.push({
        frameworkId: framework.frameworkId,
        agentId: agent.agentId,
        role,
        resources: offerable.allocate(role),
      });
    }
    return allocations;
  }
}

function pickRole(framework: FrameworkBooks): string | undefined {
  return framework.roles.find((role) => !framework.suppressed.has(role));
}

function isRefused(framework: FrameworkBooks, agent: AgentBooks, nowMs: number): boolean {
  const until = framework.refusedUntilMs.get(agent.agentId.value);
  return until !== undefined && nowMs < until;
}
