import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  MAX_REMOVED_FRAMEWORKS,
  type QuotaConfig,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { type AgentInfo, agentId, frameworkId } from '../../src/wire/index.js';

const agent = (id: string, hostname = `${id}.example`): AgentInfo => ({
  id: agentId(id),
  hostname,
  port: 5051,
  resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 4 } }],
});

const state = (parts: Partial<RegistryState>): RegistryState => ({
  ...EMPTY_REGISTRY_STATE,
  ...parts,
});

const cases: readonly {
  readonly name: string;
  readonly before: RegistryState;
  readonly op: RegistryOperation;
  readonly after: RegistryState;
}[] = [
  {
    name: 'applyOperation admits an agent by its id',
    before: EMPTY_REGISTRY_STATE,
    op: { kind: 'admitAgent', agent: agent('a1') },
    after: state({ agents: new Map([['a1', agent('a1')]]) }),
  },
  {
    name: 'applyOperation replaces a re-admitted agent with the same id',
    before: state({ agents: new Map([['a1', agent('a1', 'old')]]) }),
    op: { kind: 'admitAgent', agent: agent('a1', 'new') },
    after: state({ agents: new Map([['a1', agent('a1', 'new')]]) }),
  },
  {
    name: 'applyOperation removes an admitted agent',
    before: state({
      agents: new Map([
        ['a1', agent('a1')],
        ['a2', agent('a2')],
      ]),
    }),
    op: { kind: 'removeAgent', agentId: agentId('a1') },
    after: state({ agents: new Map([['a2', agent('a2')]]) }),
  },
  {
    name: 'applyOperation ignores removal of an agent that is not admitted',
    before: state({ agents: new Map([['a2', agent('a2')]]) }),
    op: { kind: 'removeAgent', agentId: agentId('a1') },
    after: state({ agents: new Map([['a2', agent('a2')]]) }),
  },
  {
    name: 'applyOperation sets weights and keeps roles not listed',
    before: state({ weights: new Map([['dev', 2]]) }),
    op: {
      kind: 'updateWeights',
      weights: [
        { role: 'prod', weight: 3 },
        { role: 'dev', weight: 0.5 },
      ],
    },
    after: state({
      weights: new Map([
        ['dev', 0.5],
        ['prod', 3],
      ]),
    }),
  },
  {
    name: 'applyOperation sets a quota',
    before: EMPTY_REGISTRY_STATE,
    op: {
      kind: 'updateQuotas',
      configs: [{ role: 'prod', guarantees: { cpus: 2 }, limits: { cpus: 8, mem: 1024 } }],
    },
    after: state({
      quotas: new Map([
        ['prod', { role: 'prod', guarantees: { cpus: 2 }, limits: { cpus: 8, mem: 1024 } }],
      ]),
    }),
  },
  {
    name: 'applyOperation removes a quota given no guarantees and no limits',
    before: state({
      quotas: new Map<string, QuotaConfig>([
        ['prod', { role: 'prod', guarantees: { cpus: 2 }, limits: {} }],
        ['dev', { role: 'dev', guarantees: {}, limits: { cpus: 1 } }],
      ]),
    }),
    op: { kind: 'updateQuotas', configs: [{ role: 'prod', guarantees: {}, limits: {} }] },
    after: state({
      quotas: new Map([['dev', { role: 'dev', guarantees: {}, limits: { cpus: 1 } }]]),
    }),
  },
];

for (const { name, before, op, after } of cases) {
  test(name, () => {
    const beforeCopy = structuredClone(before);
    assert.deepEqual(applyOperation(before, op), after);
    assert.deepEqual(before, beforeCopy, 'the input state is not modified');
  });
}

const malformed: readonly { readonly name: string; readonly op: RegistryOperation }[] = [
  {
    name: 'applyOperation refuses to admit an agent without an id',
    op: { kind: 'admitAgent', agent: { hostname: 'h' } },
  },
  {
    name: 'applyOperation refuses a weight that is not positive',
    op: { kind: 'updateWeights', weights: [{ role: 'dev', weight: 0 }] },
  },
  {
    name: 'applyOperation refuses a quota that is not finite',
    op: {
      kind: 'updateQuotas',
      configs: [{ role: 'dev', guarantees: { cpus: Number.NaN }, limits: {} }],
    },
  },
];

for (const { name, op } of malformed) {
  test(name, () => {
    assert.throws(() => applyOperation(EMPTY_REGISTRY_STATE, op), assert.AssertionError);
  });
}

test('applyOperation marks an agent unreachable, and admitting it again clears the mark', () => {
  const admitted = applyOperation(EMPTY_REGISTRY_STATE, { kind: 'admitAgent', agent: agent('a1') });
  const silent = applyOperation(admitted, {
    kind: 'markAgentUnreachable',
    agentId: agentId('a1'),
    sinceSec: 1700000000,
  });
  assert.deepEqual([...silent.unreachableAgents], [['a1', 1700000000]]);
  const back = applyOperation(silent, { kind: 'admitAgent', agent: agent('a1') });
  assert.equal(back.unreachableAgents.size, 0);
  assert.throws(
    () =>
      applyOperation(EMPTY_REGISTRY_STATE, {
        kind: 'markAgentUnreachable',
        agentId: agentId('x'),
        sinceSec: 1,
      }),
    assert.AssertionError,
  );
});

test('applyOperation marks an agent gone for good: removed, and never admitted again', () => {
  const admitted = applyOperation(EMPTY_REGISTRY_STATE, { kind: 'admitAgent', agent: agent('a1') });
  const gone = applyOperation(admitted, { kind: 'markAgentGone', agentId: agentId('a1') });
  assert.equal(gone.agents.size, 0);
  assert.ok(gone.goneAgents.has('a1'));
  assert.throws(
    () => applyOperation(gone, { kind: 'admitAgent', agent: agent('a1') }),
    assert.AssertionError,
  );
});

test('applyOperation keeps frameworks, and the ids of removed ones up to a bound', () => {
  const info = (id: string) => ({ id: frameworkId(id), user: 'u', name: id });
  let current = applyOperation(EMPTY_REGISTRY_STATE, {
    kind: 'addFramework',
    framework: { info: info('f1'), registeredTimeSec: 5 },
  });
  assert.equal(current.frameworks.get('f1')?.registeredTimeSec, 5);
  current = applyOperation(current, { kind: 'removeFramework', frameworkId: frameworkId('f1') });
  assert.equal(current.frameworks.size, 0);
  assert.deepEqual(current.removedFrameworks, ['f1']);
  assert.throws(
    () =>
      applyOperation(current, {
        kind: 'addFramework',
        framework: { info: info('f1'), registeredTimeSec: 6 },
      }),
    assert.AssertionError,
    'a removed framework never comes back',
  );
  for (let i = 0; i < MAX_REMOVED_FRAMEWORKS + 5; i++)
    current = applyOperation(current, {
      kind: 'removeFramework',
      frameworkId: frameworkId(`g${i}`),
    });
  assert.equal(current.removedFrameworks.length, MAX_REMOVED_FRAMEWORKS);
  assert.equal(current.removedFrameworks.at(-1), `g${MAX_REMOVED_FRAMEWORKS + 4}`);
});

test('applyOperation keeps deactivation and drains of admitted agents until reactivated or removed', () => {
  let current = applyOperation(EMPTY_REGISTRY_STATE, { kind: 'admitAgent', agent: agent('a1') });
  current = applyOperation(current, { kind: 'admitAgent', agent: agent('a2') });
  current = applyOperation(current, { kind: 'deactivateAgent', agentId: agentId('a1') });
  const config = { max_grace_period: { nanoseconds: 5e9 }, mark_gone: false };
  current = applyOperation(current, { kind: 'drainAgent', agentId: agentId('a2'), config });
  assert.deepEqual([...current.deactivatedAgents].sort(), ['a1', 'a2'], 'draining deactivates');
  assert.deepEqual(current.drainingAgents.get('a2'), { state: 'DRAINING', config });
  current = applyOperation(current, { kind: 'markAgentDrained', agentId: agentId('a2') });
  assert.equal(current.drainingAgents.get('a2')?.state, 'DRAINED');
  const silent = applyOperation(current, {
    kind: 'markAgentUnreachable',
    agentId: agentId('a2'),
    sinceSec: 9,
  });
  assert.equal(silent.drainingAgents.get('a2')?.state, 'DRAINED', 'unreachable keeps the drain');
  const reactivated = applyOperation(current, { kind: 'reactivateAgent', agentId: agentId('a2') });
  assert.deepEqual([...reactivated.deactivatedAgents], ['a1']);
  assert.equal(reactivated.drainingAgents.size, 0);
  const gone = applyOperation(current, { kind: 'markAgentGone', agentId: agentId('a2') });
  assert.equal(gone.drainingAgents.size, 0, 'a gone agent drains no more');
  const removed = applyOperation(current, { kind: 'removeAgent', agentId: agentId('a1') });
  assert.deepEqual([...removed.deactivatedAgents], ['a2']);
  assert.throws(
    () => applyOperation(EMPTY_REGISTRY_STATE, { kind: 'deactivateAgent', agentId: agentId('x') }),
    assert.AssertionError,
  );
  assert.throws(
    () => applyOperation(current, { kind: 'markAgentDrained', agentId: agentId('a1') }),
    assert.AssertionError,
    'only a draining agent can be drained',
  );
});

test('applyOperation keeps the maintenance schedule and its DOWN machines', () => {
  const m1 = { hostname: 'M1.example', ip: '10.0.0.1' };
  const m2 = { hostname: 'm2.example', ip: '10.0.0.2' };
  const unavailability = { start: { nanoseconds: 1_443_830_400_000_000_000 } };
  const schedule = {
    windows: [
      { machine_ids: [m1], unavailability },
      { machine_ids: [m2], unavailability },
    ],
  };
  let current = applyOperation(EMPTY_REGISTRY_STATE, {
    kind: 'updateMaintenanceSchedule',
    schedule,
  });
  // Hostnames compare without regard to case, as Mesos compares MachineIDs.
  current = applyOperation(current, {
    kind: 'startMaintenance',
    machines: [{ hostname: 'm1.example', ip: '10.0.0.1' }],
  });
  assert.equal(current.downMachines.length, 1);
  assert.throws(
    () =>
      applyOperation(current, {
        kind: 'updateMaintenanceSchedule',
        schedule: { windows: [{ machine_ids: [m2], unavailability }] },
      }),
    assert.AssertionError,
    'a DOWN machine may not leave the schedule',
  );
  assert.throws(
    () =>
      applyOperation(current, {
        kind: 'startMaintenance',
        machines: [{ hostname: 'other', ip: '10.0.0.9' }],
      }),
    assert.AssertionError,
    'only scheduled machines go down',
  );
  current = applyOperation(current, { kind: 'stopMaintenance', machines: [m1] });
  assert.deepEqual(current.downMachines, []);
  assert.deepEqual(current.schedule, { windows: [{ machine_ids: [m2], unavailability }] });
  current = applyOperation(current, { kind: 'stopMaintenance', machines: [m2] });
  assert.deepEqual(current.schedule, {}, 'an emptied schedule is no schedule');
});
