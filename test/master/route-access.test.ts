// Every route of the master and the agent is in its daemon's route-access table (the realm
// that decides its authentication), and no table names a route nobody serves. HttpServer
// refuses to register an unclassified route, so building the daemons is half the test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { AGENT_ROUTE_ACCESS } from '../../src/agent/route-access.js';
import { HierarchicalAllocator } from '../../src/allocator/index.js';
import type { Containerizer } from '../../src/containerizer/index.js';
import { MASTER_ROUTE_ACCESS } from '../../src/master/http/route-access.js';
import { Master } from '../../src/master/master.js';
import { InMemoryRegistry } from '../../src/registry/index.js';
import {
  HttpServer,
  type RegisteredRoute,
  routeKey,
  silentLogger,
  systemClock,
} from '../../src/runtime/index.js';

export function masterRoutes(): RegisteredRoute[] {
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
  }).routes();
}

export function agentRoutes(workDir: string): RegisteredRoute[] {
  const containerizer: Containerizer = {
    launch: () => Promise.reject(new Error('not in this test')),
    recover: async () => new Map(),
    cleanup: async () => {},
    enter: () => undefined,
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

function check(routes: readonly RegisteredRoute[], table: Readonly<Record<string, unknown>>) {
  const keys = routes.map((r) => routeKey(r.method, r.path, r.isPrefix));
  assert.ok(keys.length > 10, `the router lists its routes (${keys.length})`);
  assert.deepEqual(
    keys.filter((key) => table[key] === undefined),
    [],
    'unclassified routes',
  );
  const served = new Set(keys);
  assert.deepEqual(
    Object.keys(table).filter((key) => !served.has(key)),
    [],
    'table entries no route serves',
  );
}

test('route access classifies every route the master serves, and only those', () => {
  check(masterRoutes(), MASTER_ROUTE_ACCESS);
});

test('route access classifies every route the agent serves, and only those', (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-routes-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  check(agentRoutes(workDir), AGENT_ROUTE_ACCESS);
});

test('route access: a server with a table refuses to register an unclassified route', () => {
  const http = new HttpServer({
    logger: silentLogger(),
    routeAccess: { 'GET /known': 'readonly' },
  });
  http.route(['GET'], '/known', () => {});
  assert.throws(() => http.route(['POST'], '/known', () => {}), /POST \/known has no entry/);
  assert.throws(() => http.routePrefix(['GET'], '/new/', () => {}), /GET \/new\/\* has no entry/);
});
