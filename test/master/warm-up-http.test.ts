// A standby rehearses the HTTP side of the agents' re-registration too (#10): a scratch
// master on an ephemeral loopback port takes real SUBSCRIBE requests, so that the leader
// it becomes runs optimized server, routing and stream code. Like the core's rehearsal
// (warm-up.test.ts), it must leave nothing behind in the real master (books, metrics,
// registry, timers, sockets) and stop promptly when aborted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Candidacy, Coordinator } from '../../src/coordination/index.js';
import { Contender } from '../../src/master/contender.js';
import { rehearseReregistrationHttp } from '../../src/master/warm-up-http.js';
import {
  InMemoryRegistry,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { silentLogger, systemClock } from '../../src/runtime/index.js';
import { waitFor } from '../integration/harness.js';
import { testMaster } from './daemon-routes.js';

class CountingRegistry extends InMemoryRegistry {
  applied = 0;
  override async apply(op: RegistryOperation): Promise<RegistryState> {
    this.applied++;
    return super.apply(op);
  }
}

/** Metrics that move with time alone (the real master's own loop), not with what it was told. */
const VOLATILE = /uptime|elapsed|lag|_ms$|mem|cpu|system\/|^allocator\//;

function stable(snapshot: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(snapshot).filter(([name]) => !VOLATILE.test(name)));
}

/** Handles and timers alive now that were not in `before` (a multiset difference). */
function addedSince(before: readonly string[]): string[] {
  const left = [...before];
  return process.getActiveResourcesInfo().filter((kind) => {
    const at = left.indexOf(kind);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

/** Sockets close a loop turn or two after their last callback: waits until nothing is left. */
function nothingAddedSince(before: readonly string[]): Promise<unknown> {
  return waitFor(
    'the rehearsal to leave no handle behind',
    () => (addedSince(before).length === 0 ? true : undefined),
    5000,
  ).catch(() => assert.deepEqual(addedSince(before), []));
}

// First, before any test's master opens (and later closes) sockets of its own.
test('an aborted HTTP rehearsal stops at once and leaves nothing running', async () => {
  const before = process.getActiveResourcesInfo();
  const controller = new AbortController();
  const running = rehearseReregistrationHttp({
    agents: 300,
    rounds: 10,
    signal: controller.signal,
  });
  // Mid-round, with requests in flight.
  setTimeout(() => controller.abort(), 300);
  const abortedAt = Date.now();
  const result = await running;
  assert.ok(Date.now() - abortedAt < 10_000, 'stopped within seconds of the abort');
  assert.equal(result.aborted, true);
  assert.ok(result.subscribed < 3000, `${result.subscribed} of 3,000 before stopping`);
  await nothingAddedSince(before);
});

test('an HTTP rehearsal re-registers every agent with its tasks, and leaves the real master as it was', async (t) => {
  const registry = new CountingRegistry();
  const master = testMaster({ registry });
  t.after(() => master.stop());
  const url = await master.start();
  const before = {
    metrics: stable(master.snapshotMetrics()),
    state: (await (await fetch(`${url}/master/state`)).json()) as Record<string, unknown>,
    resources: process.getActiveResourcesInfo(),
    applied: registry.applied,
  };
  const done = await rehearseReregistrationHttp({ agents: 150, rounds: 2 });
  assert.deepEqual(done, { subscribed: 300, failed: 0, aborted: false });
  await nothingAddedSince(before.resources);
  assert.deepEqual(stable(master.snapshotMetrics()), before.metrics);
  const state = (await (await fetch(`${url}/master/state`)).json()) as Record<string, unknown>;
  const keep = (s: Record<string, unknown>) => ({
    slaves: s.slaves,
    frameworks: s.frameworks,
    recovered_slaves: s.recovered_slaves,
    orphan_tasks: s.orphan_tasks,
  });
  assert.deepEqual(keep(state), keep(before.state));
  assert.deepEqual(state.slaves, []);
  assert.equal(registry.applied, before.applied);
  // Closed here, not after: the next test counts the servers listening.
  await master.stop();
});

/** An election under the test's hand: contend() answers at once, elected when told. */
function handCoordinator(): { coordinator: Coordinator; elect: () => void } {
  let elect = () => {};
  const elected = new Promise<void>((resolve) => {
    elect = resolve;
  });
  const candidacy = { elected, fence: 'fence', stillLeads: async () => true } as Candidacy;
  const coordinator: Coordinator = {
    kind: 'etcd',
    connect: async () => {},
    watchLeader: () => () => {},
    contend: async () => candidacy,
    sessionLost: new AbortController().signal,
    close: async () => {},
  };
  return { coordinator, elect };
}

const servers = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;

test("a standby's own rehearsal goes over HTTP too, and its scratch server is gone once elected", async (t) => {
  // The earlier tests' servers are closed; their handles go a turn or two later.
  await waitFor(
    'no server left from earlier tests',
    () => (servers() === 0 ? true : undefined),
    5000,
  );
  const { coordinator, elect } = handCoordinator();
  const contender = new Contender({
    coordinator,
    ip: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    flags: {},
    sessionTimeoutMs: 10_000,
    clock: systemClock,
    makeMaster: (id, port, _fence, leadership) => testMaster({ id, port, leadership }),
    onLost: () => {},
  });
  t.after(() => contender.stop());
  const url = await contender.start();
  const standing = servers();
  // After the core's rehearsal, a second server listens: the scratch master.
  await waitFor(
    'the scratch master listening',
    () => (servers() > standing ? true : undefined),
    60_000,
  );
  assert.equal((await fetch(`${url}/health`)).status, 200, 'the standby answers meanwhile');
  elect();
  await waitFor('a leader', () => contender.master, 10_000);
  // The standby's server gave way to the leader's; the scratch master stopped.
  await waitFor(
    'the scratch master gone',
    () => (servers() <= standing ? true : undefined),
    10_000,
  );
  assert.equal((await fetch(`${url}/health`)).status, 200);
});
