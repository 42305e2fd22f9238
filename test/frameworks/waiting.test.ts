// Why `agora run` waits, read from the master's public numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AgentView, type RoleView, whyWaiting } from '../../src/frameworks/index.js';

const agent = (hostname: string, total: number, used = 0, offered = 0): AgentView => ({
  hostname,
  resources: { cpus: total, mem: 1024 },
  used_resources: { cpus: used, mem: 0 },
  offered_resources: { cpus: offered, mem: 0 },
  unreserved_resources: { cpus: total, mem: 1024 },
  reserved_resources: {},
});
const quota = (
  name: string,
  q: { guarantee?: number; limit?: number; consumed?: number },
): RoleView => ({
  name,
  quota: {
    guarantee: q.guarantee === undefined ? {} : { cpus: q.guarantee },
    limit: q.limit === undefined ? {} : { cpus: q.limit },
    consumed: q.consumed === undefined ? {} : { cpus: q.consumed },
  },
});
const needs = { cpus: 1, mem: 32 };

test('whyWaiting names each reason with the numbers it compared', () => {
  const cases: [
    what: string,
    role: string,
    agents: AgentView[],
    roles: RoleView[],
    kind: string,
    message: RegExp,
  ][] = [
    ['no agent at all', '*', [], [], 'no-agents', /no agent is registered/],
    [
      'agents too small for ever',
      '*',
      [agent('a1', 0.5), agent('a2', 0.5)],
      [],
      'never-fits',
      /no agent can ever fit a task needing cpus:1;mem:32; agents: a1 \(cpus:0.5, mem:1024\)/,
    ],
    [
      'the role at its limit',
      'eng',
      [agent('a1', 4)],
      [quota('eng', { limit: 1, consumed: 0.5 })],
      'quota-limit',
      /role eng is at its quota limit for cpus: limit 1, consumed 0.5, the task needs 1/,
    ],
    [
      "a parent role's limit counts too",
      'eng/batch',
      [agent('a1', 4)],
      [quota('eng', { limit: 2, consumed: 2 })],
      'quota-limit',
      /role eng is at its quota limit/,
    ],
    [
      'every agent busy',
      '*',
      [agent('a1', 2, 1.5), agent('a2', 2, 1.8, 0.1)],
      [],
      'no-free-resources',
      /needs cpus:1;mem:32, the most free is cpus:0.5;mem:1024 on a1/,
    ],
    [
      "free CPUs kept for another role's guarantee",
      '*',
      [agent('a1', 2)],
      [quota('prod', { guarantee: 2, consumed: 0 })],
      'held-for-guarantees',
      /the free cpus \(2\) is held for the quota guarantees of prod \(2 not yet used\)/,
    ],
    [
      'room that was not offered',
      '*',
      [agent('a1', 2)],
      [quota('prod', { guarantee: 2, consumed: 2 })],
      'not-offered',
      /a1 has room \(cpus:2;mem:1024\) but no offer of it came/,
    ],
  ];
  for (const [what, role, agents, roles, kind, message] of cases) {
    const reason = whyWaiting(needs, role, agents, roles);
    assert.equal(reason.kind, kind, what);
    assert.match(reason.message, message, what);
  }
});

test("whyWaiting counts resources reserved for another role as not the task's", () => {
  const reserved: AgentView = {
    ...agent('a1', 2),
    unreserved_resources: { cpus: 0.5, mem: 1024 },
    reserved_resources: { ops: { cpus: 1.5 } },
  };
  assert.equal(whyWaiting(needs, '*', [reserved], []).kind, 'no-free-resources');
  assert.equal(whyWaiting(needs, 'ops', [reserved], []).kind, 'not-offered');
});
