import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type QuotaConfig,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { type AgentInfo, agentId } from '../../src/wire/index.js';

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
