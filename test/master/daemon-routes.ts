// The routes of a master and an agent as their routers list them, without starting either;
// and a master with test defaults.
import { Agent } from '../../src/agent/agent.js';
import { HierarchicalAllocator } from '../../src/allocator/index.js';
import type { Containerizer } from '../../src/containerizer/index.js';
import { Master } from '../../src/master/master.js';
import type { MasterOptions } from '../../src/master/options.js';
import { InMemoryRegistry } from '../../src/registry/index.js';
import { type RegisteredRoute, silentLogger, systemClock } from '../../src/runtime/index.js';

/** A master on 127.0.0.1 with Mesos' defaults and an in-memory registry, quiet. */
export function testMaster(overrides: Partial<MasterOptions> = {}): Master {
  return new Master({
    ip: '127.0.0.1',
    port: 0,
    registry: new InMemoryRegistry(),
    allocator: new HierarchicalAllocator({ random: Math.random }),
    allocationIntervalMs: 1000,
    heartbeatIntervalMs: 15_000,
    agentReregisterTimeoutMs: 60_000,
    agentPingTimeoutMs: 15_000,
    maxAgentPingTimeouts: 5,
    frameworkReregisterTimeoutMs: 10_000,
    clock: systemClock,
    logger: silentLogger(),
    ...overrides,
  });
}

export function masterRoutes(): RegisteredRoute[] {
  return testMaster().routes();
}

export function agentRoutes(workDir: string): RegisteredRoute[] {
  const containerizer: Containerizer = {
    launch: () => Promise.reject(new Error('not in this test')),
    recover: async () => new Map(),
    cleanup: async () => {},
    enter: () => undefined,
    close: () => {},
    description: 'none',
  };
  return new Agent({
    master: '127.0.0.1:1',
    ip: '127.0.0.1',
    port: 0,
    workDir,
    containerizer,
    clock: systemClock,
    logger: silentLogger(),
  }).routes();
}
