// A standby rehearses the agents' re-registration on scratch state (#10), so that the
// master it becomes runs optimized code when every agent comes back at once. The
// rehearsal must leave nothing behind in the real master (books, metrics, registry,
// timers, sockets) and must not hold the loop: the standby keeps answering meanwhile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Candidacy, Coordinator } from '../../src/coordination/index.js';
import { Contender } from '../../src/master/contender.js';
import {
  rehearsalAgent,
  rehearsalSubscribe,
  rehearseReregistration,
} from '../../src/master/warm-up.js';
import {
  InMemoryRegistry,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { silentLogger, systemClock } from '../../src/runtime/index.js';
import { fastAgentCall } from '../../src/wire/fast-calls.js';
import { testMaster } from './daemon-routes.js';

class CountingRegistry extends InMemoryRegistry {
  applied = 0;
  override async apply(op: RegistryOperation): Promise<RegistryState> {
    this.applied++;
    return super.apply(op);
  }
}

/**
 * Metrics that move with time alone, not with what the master was told (its own
 * allocation loop runs every second, whatever else happens).
 */
const VOLATILE = /uptime|elapsed|lag|_ms$|mem|cpu|system\/|^allocator\//;

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

function stable(snapshot: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(snapshot).filter(([name]) => !VOLATILE.test(name)));
}

test('the rehearsal re-registers its synthetic agents, as real agents send them', () => {
  // The rehearsal's SUBSCRIBE takes the checks real agents' SUBSCRIBEs take (not the fallback).
  for (const shape of ['compact', 'frameworksOnce', 'perTask'] as const) {
    const call = JSON.parse(JSON.stringify(rehearsalSubscribe(rehearsalAgent(3), 3, 10, shape)));
    assert.equal(fastAgentCall(call)?.type, 'SUBSCRIBE', shape);
    assert.equal(call.subscribe.frameworks?.length, shape === 'perTask' ? undefined : 1);
    assert.equal(call.subscribe.task_resources?.length, shape === 'compact' ? 1 : undefined);
  }
  // What the daemon's standby sends by default: the compact report.
  const sent = JSON.parse(JSON.stringify(rehearsalSubscribe(rehearsalAgent(3), 3, 10)));
  assert.equal(sent.subscribe.task_resources?.length, 1);
});

// First, before any test's master opens (and later closes) sockets of its own.
test('an aborted rehearsal stops after the slice under way and leaves nothing running', async () => {
  const before = process.getActiveResourcesInfo();
  const controller = new AbortController();
  const running = rehearseReregistration({ agents: 200, rounds: 4, signal: controller.signal });
  setImmediate(() => controller.abort());
  const done = await running;
  assert.equal(done.aborted, true);
  assert.ok(done.subscribed < 800, `${done.subscribed} of 800 before stopping`);
  assert.deepEqual(addedSince(before), []);
});

test('a rehearsal leaves the real master, its registry and the loop as they were', async (t) => {
  const registry = new CountingRegistry();
  const master = testMaster({ registry });
  t.after(() => master.stop());
  const url = await master.start();
  const before = {
    metrics: stable(master.snapshotMetrics()),
    state: await (await fetch(`${url}/master/state`)).json(),
    resources: process.getActiveResourcesInfo(),
    applied: registry.applied,
  };
  const done = await rehearseReregistration({ agents: 200, rounds: 2 });
  assert.deepEqual(done, { subscribed: 400, adopted: 4000, records: done.records, aborted: false });
  assert.ok(done.records >= 400, `${done.records} records encoded`);
  // Whatever the rehearsal started has ended: no timer, immediate or socket of its own.
  assert.deepEqual(addedSince(before.resources), []);
  assert.deepEqual(stable(master.snapshotMetrics()), before.metrics);
  const state = (await (await fetch(`${url}/master/state`)).json()) as Record<string, unknown>;
  const keep = (s: Record<string, unknown>) => ({
    slaves: s.slaves,
    frameworks: s.frameworks,
    recovered_slaves: s.recovered_slaves,
    activated_slaves: s.activated_slaves,
    orphan_tasks: s.orphan_tasks,
  });
  assert.deepEqual(keep(state), keep(before.state as Record<string, unknown>));
  assert.deepEqual(state.slaves, []);
  assert.equal(registry.applied, before.applied);
});

/** An election under the test's hand: contend() answers at once, elected when told. */
function handCoordinator(): { coordinator: Coordinator; elect: () => void } {
  let elect = () => {};
  const elected = new Promise<void>((resolve) => {
    elect = resolve;
  });
  const lost = new AbortController();
  const candidacy: Candidacy = {
    elected,
    fence: 'fence',
    stillLeads: async () => true,
  } as Candidacy;
  const coordinator: Coordinator = {
    kind: 'etcd',
    connect: async () => {},
    watchLeader: () => () => {},
    contend: async () => candidacy,
    sessionLost: lost.signal,
    close: async () => {},
  };
  return { coordinator, elect };
}

test('a standby rehearses while it answers /health, and stops rehearsing once elected', async (t) => {
  const { coordinator, elect } = handCoordinator();
  let rehearsal: Promise<Awaited<ReturnType<typeof rehearseReregistration>>> | undefined;
  let isRehearsing = false;
  const contender = new Contender({
    coordinator,
    ip: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    flags: {},
    sessionTimeoutMs: 10_000,
    clock: systemClock,
    // Many rounds: it is still under way when the standby is asked and when it is elected.
    rehearse: (signal) => {
      isRehearsing = true;
      rehearsal = rehearseReregistration({ agents: 500, rounds: 50, signal }).finally(() => {
        isRehearsing = false;
      });
      return rehearsal;
    },
    makeMaster: (id, port, _fence, leadership) => testMaster({ id, port, leadership }),
    onLost: () => {},
  });
  t.after(() => contender.stop());
  const url = await contender.start();
  assert.ok(rehearsal !== undefined, 'the standby started rehearsing');
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  assert.equal(isRehearsing, true, 'answered while the rehearsal was under way');
  elect();
  const done = await rehearsal;
  assert.equal(done.aborted, true);
  assert.ok(done.subscribed < 25_000, `stopped at ${done.subscribed} of 25,000`);
});
