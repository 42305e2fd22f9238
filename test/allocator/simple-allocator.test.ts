import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refuseMsFrom } from '../../src/allocator/refuse.js';
import { SimpleAllocator } from '../../src/allocator/simple-allocator.js';
import type { Allocation } from '../../src/allocator/types.js';
import { Resources } from '../../src/resources/index.js';
import { agentId, frameworkId } from '../../src/wire/ids.js';

const NO_USE: ReadonlyMap<string, Resources> = new Map();

function withAgent(allocator: SimpleAllocator, id: string, resources: string, nowMs = 0) {
  allocator.handle(
    { kind: 'agentAdded', agentId: agentId(id), total: Resources.parse(resources), used: NO_USE },
    nowMs,
  );
}

function withFramework(
  allocator: SimpleAllocator,
  id: string,
  roles: readonly string[] = ['web'],
  suppressedRoles: readonly string[] = [],
) {
  allocator.handle(
    { kind: 'frameworkAdded', frameworkId: frameworkId(id), roles, suppressedRoles, used: NO_USE },
    0,
  );
}

/** Gives an offer back, as a DECLINE (with its filter) or a rescind does. */
function recover(
  allocator: SimpleAllocator,
  allocation: Allocation,
  nowMs: number,
  refuseMs?: number,
) {
  allocator.handle(
    {
      kind: 'resourcesRecovered',
      frameworkId: allocation.frameworkId,
      agentId: allocation.agentId,
      resources: allocation.resources,
      ...(refuseMs !== undefined ? { refuseMs } : {}),
    },
    nowMs,
  );
}

const summary = (allocations: readonly Allocation[]) =>
  allocations.map((a) => `${a.frameworkId.value}@${a.agentId.value}/${a.role}`);

function only(allocations: readonly Allocation[]): Allocation {
  assert.equal(allocations.length, 1, `expected one offer, got ${summary(allocations).join()}`);
  const [allocation] = allocations;
  assert.ok(allocation !== undefined);
  return allocation;
}

test('allocator offers an added agent whole, then not again until it is recovered', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096;ports:[31000-32000]');
  const offer = only(allocator.allocate(0));
  assert.equal(offer.frameworkId.value, 'f-1');
  assert.equal(offer.agentId.value, 'a-1');
  assert.equal(offer.role, 'web');
  assert.ok(
    offer.resources.equals(Resources.parse('cpus:4;mem:4096;ports:[31000-32000]').allocate('web')),
  );
  assert.deepEqual(offer.resources.allocationRoles(), ['web']);
  assert.deepEqual(allocator.allocate(1_000), []);
  recover(allocator, offer, 2_000);
  const again = only(allocator.allocate(2_000));
  assert.ok(again.resources.equals(offer.resources));
});

test('allocator offers what is left after part of an offer is used', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  const offer = only(allocator.allocate(0));
  const used = Resources.scalars({ cpus: 1, mem: 512 }).allocate('web');
  recover(allocator, { ...offer, resources: offer.resources.minus(used) }, 0);
  const rest = only(allocator.allocate(1));
  assert.ok(rest.resources.equals(Resources.scalars({ cpus: 3, mem: 3584 }).allocate('web')));
});

test('allocator offers nothing without an active agent and framework', () => {
  const noFramework = new SimpleAllocator();
  withAgent(noFramework, 'a-1', 'cpus:4;mem:4096');
  assert.deepEqual(noFramework.allocate(0), []);
  const noAgent = new SimpleAllocator();
  withFramework(noAgent, 'f-1');
  assert.deepEqual(noAgent.allocate(0), []);
});

test('allocator keeps a declined agent from that framework until refuseMs have passed', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  const offer = only(allocator.allocate(0));
  recover(allocator, offer, 10, 5_000);
  assert.deepEqual(allocator.allocate(10), []);
  assert.deepEqual(allocator.allocate(5_009), []);
  assert.equal(only(allocator.allocate(5_010)).agentId.value, 'a-1');
});

test('allocator applies a decline filter to that agent and that framework only', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  const offer = only(allocator.allocate(0));
  withFramework(allocator, 'f-2');
  withAgent(allocator, 'a-2', 'cpus:2;mem:2048');
  recover(allocator, offer, 0, 60_000);
  const offers = allocator.allocate(1);
  // f-1 refused a-1, so a-1 goes to f-2; f-1 (now holding the least) still gets a-2.
  assert.deepEqual(summary(offers).sort(), ['f-1@a-2/web', 'f-2@a-1/web']);
});

test('allocator sets no filter for a decline with refuseMs of zero', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  recover(allocator, only(allocator.allocate(0)), 0, 0);
  assert.equal(only(allocator.allocate(0)).frameworkId.value, 'f-1');
});

test('allocator clears decline filters when the framework revives', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  recover(allocator, only(allocator.allocate(0)), 0, 60_000);
  assert.deepEqual(allocator.allocate(100), []);
  allocator.handle({ kind: 'offersRevived', frameworkId: frameworkId('f-1'), roles: [] }, 100);
  assert.equal(only(allocator.allocate(100)).agentId.value, 'a-1');
});

test('allocator offers nothing to a suppressed role until it is revived', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1', ['web'], ['web']);
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  assert.deepEqual(allocator.allocate(0), []);
  allocator.handle({ kind: 'offersRevived', frameworkId: frameworkId('f-1'), roles: ['web'] }, 0);
  const offer = only(allocator.allocate(0));
  recover(allocator, offer, 0);
  allocator.handle({ kind: 'offersSuppressed', frameworkId: frameworkId('f-1'), roles: [] }, 0);
  assert.deepEqual(allocator.allocate(1), []);
  allocator.handle({ kind: 'offersRevived', frameworkId: frameworkId('f-1'), roles: [] }, 0);
  assert.equal(only(allocator.allocate(2)).role, 'web');
});

test('allocator offers to the roles of a framework that are not suppressed', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1', ['web', 'batch']);
  allocator.handle(
    { kind: 'offersSuppressed', frameworkId: frameworkId('f-1'), roles: ['web'] },
    0,
  );
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  const offer = only(allocator.allocate(0));
  assert.equal(offer.role, 'batch');
  assert.deepEqual(offer.resources.allocationRoles(), ['batch']);
});

test('allocator offers nothing from a deactivated agent until it is reactivated', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  allocator.handle({ kind: 'agentDeactivated', agentId: agentId('a-1') }, 0);
  assert.deepEqual(allocator.allocate(0), []);
  allocator.handle({ kind: 'agentActivated', agentId: agentId('a-1') }, 0);
  assert.equal(only(allocator.allocate(0)).agentId.value, 'a-1');
});

test('allocator offers nothing to a deactivated framework until it is reactivated', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  allocator.handle({ kind: 'frameworkDeactivated', frameworkId: frameworkId('f-1') }, 0);
  assert.deepEqual(allocator.allocate(0), []);
  allocator.handle({ kind: 'frameworkActivated', frameworkId: frameworkId('f-1') }, 0);
  assert.equal(only(allocator.allocate(0)).frameworkId.value, 'f-1');
});

test('allocator offers nothing from a removed agent or to a removed framework', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withAgent(allocator, 'a-1', 'cpus:4;mem:4096');
  allocator.handle({ kind: 'agentRemoved', agentId: agentId('a-1') }, 0);
  assert.deepEqual(allocator.allocate(0), []);
  withAgent(allocator, 'a-2', 'cpus:4;mem:4096');
  allocator.handle({ kind: 'frameworkRemoved', frameworkId: frameworkId('f-1') }, 0);
  assert.deepEqual(allocator.allocate(0), []);
});

test('allocator does not offer resources reserved to another role', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1', ['web']);
  withAgent(allocator, 'a-1', 'cpus:2;mem:1024;cpus(ops):4;mem(ops):2048');
  const offer = only(allocator.allocate(0));
  assert.ok(offer.resources.equals(Resources.parse('cpus:2;mem:1024').allocate('web')));
  assert.ok(offer.resources.reserved().isEmpty());
  assert.deepEqual(allocator.allocate(1), [], 'the ops reservation stays unoffered');
});

test('allocator offers a role the resources reserved to it along with unreserved ones', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1', ['ops']);
  withAgent(allocator, 'a-1', 'cpus:2;mem:1024;cpus(ops):4;mem(ops):2048;cpus(db):8');
  const offer = only(allocator.allocate(0));
  assert.ok(
    offer.resources.equals(
      Resources.parse('cpus:2;mem:1024;cpus(ops):4;mem(ops):2048').allocate('ops'),
    ),
  );
  assert.deepEqual(offer.resources.reservedRoles(), ['ops']);
});

test('allocator offers an agent reserved to one role to that role while another framework waits', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-web', ['web']);
  withFramework(allocator, 'f-ops', ['ops']);
  withAgent(allocator, 'a-1', 'cpus(ops):4;mem(ops):2048');
  assert.deepEqual(summary(allocator.allocate(0)), ['f-ops@a-1/ops']);
});

test('allocator offers each free agent to the framework holding the fewest CPUs', () => {
  const allocator = new SimpleAllocator();
  withFramework(allocator, 'f-1');
  withFramework(allocator, 'f-2');
  withAgent(allocator, 'a-1', 'cpus:8;mem:4096');
  withAgent(allocator, 'a-2', 'cpus:1;mem:4096');
  withAgent(allocator, 'a-3', 'cpus:2;mem:4096');
  // f-1 takes a-1 (8 cpus), so a-2 goes to f-2 (0 cpus), and a-3 to f-2 again (1 < 8).
  assert.deepEqual(summary(allocator.allocate(0)), ['f-1@a-1/web', 'f-2@a-2/web', 'f-2@a-3/web']);
});

test('allocator does not offer an agent whose resources are all in use', () => {
  const allocator = new SimpleAllocator();
  allocator.handle(
    {
      kind: 'agentAdded',
      agentId: agentId('a-1'),
      total: Resources.parse('cpus:4;mem:4096'),
      used: new Map([['f-0', Resources.parse('cpus:4;mem:4096')]]),
    },
    0,
  );
  withFramework(allocator, 'f-1');
  assert.deepEqual(allocator.allocate(0), []);
});

test('refuse filter duration follows Mesos for every refuse_seconds', () => {
  const DAY_MS = 24 * 60 * 60 * 1000;
  const cases: [refuseSeconds: number | undefined, ms: number][] = [
    [undefined, 5_000],
    [-1, 5_000],
    [Number.NaN, 5_000],
    [Number.NEGATIVE_INFINITY, 5_000],
    [0, 0],
    [1.5, 1_500],
    [0.0004, 0],
    [5, 5_000],
    [400 * 24 * 60 * 60, 365 * DAY_MS],
    [365 * 24 * 60 * 60, 365 * DAY_MS],
    [Number.POSITIVE_INFINITY, 365 * DAY_MS],
  ];
  for (const [refuseSeconds, ms] of cases)
    assert.equal(refuseMsFrom(refuseSeconds), ms, `refuse_seconds ${refuseSeconds}`);
});
