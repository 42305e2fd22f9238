// The services framework's pure parts: app validation, constraints, offer
// matching, the rollout step, the core's backoff and rollback, the DNS zone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AppDefinition,
  dnsLabelOf,
  normalizeAppId,
  parseApp,
} from '../../src/frameworks/services/app-definition.js';
import { violatedConstraint } from '../../src/frameworks/services/constraints.js';
import { ServiceCore } from '../../src/frameworks/services/core.js';
import {
  encodeResponse,
  parseQuery,
  TYPE_A,
  TYPE_SRV,
  Zone,
} from '../../src/frameworks/services/dns.js';
import { type Instance, isHealthy } from '../../src/frameworks/services/instance.js';
import { matchOffers, type OfferView } from '../../src/frameworks/services/offer-matching.js';
import { rolloutStep } from '../../src/frameworks/services/rollout.js';
import type { TaskState } from '../../src/wire/index.js';

function app(fields: Record<string, unknown> = {}): AppDefinition {
  const parsed = parseApp({ id: '/web', cmd: 'serve', ...fields });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.failure));
  return parsed.value;
}

test('app definitions take Marathon defaults and normalize ids', () => {
  const web = app({ id: 'team/web', ports: [0, 0] });
  assert.equal(web.id, '/team/web');
  assert.equal(web.cpus, 1);
  assert.equal(web.instances, 1);
  assert.deepEqual(web.upgradeStrategy, { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
  assert.equal(web.portDefinitions.length, 2);
  assert.equal(normalizeAppId('../api', '/team/web'), '/api');
  assert.equal(dnsLabelOf('/team/web'), 'web-team');
});

test('bad app definitions name the field as Marathon does', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ cpus: 0 }, '/cpus'],
    [{ mem: 'lots' }, '/mem'],
    [{ healthChecks: [{ protocol: 'TCP', portIndex: 2 }] }, '/healthChecks(0)/portIndex'],
    [
      { healthChecks: [{ protocol: 'HTTP', intervalSeconds: 5, timeoutSeconds: 5 }], ports: [0] },
      '/healthChecks(0)/timeoutSeconds',
    ],
    [{ constraints: [['hostname']] }, '/constraints(0)'],
    [{ constraints: [['hostname', 'MAX_PER', 'x']] }, '/constraints(0)(2)'],
    [{ id: '/a//b/', cmd: 'x', args: ['x'] }, '/args'],
    [{ backoffFactor: 0.5 }, '/backoffFactor'],
    // A NUL byte cannot reach exec: every launch would fail, so the definition is refused.
    [{ cmd: 'echo \0' }, '/cmd'],
    [{ cmd: undefined, args: ['echo', 'a\0b'] }, '/args(1)'],
    [{ env: { A: 'x\0' } }, '/env/A'],
    [{ env: { 'A=B': 'x' } }, '/env/A=B'],
  ];
  for (const [fields, path] of cases) {
    const parsed = parseApp({ id: '/web', cmd: 'serve', ...fields });
    assert.equal(parsed.ok, false, JSON.stringify(fields));
    if (parsed.ok) continue;
    assert.equal(parsed.failure.message, 'Object is not valid');
    assert.ok(
      parsed.failure.details.some((d) => d.path === path),
      `${JSON.stringify(fields)}: ${JSON.stringify(parsed.failure.details)}`,
    );
  }
});

const site = (hostname: string, rack = 'r1') => ({ hostname, attributes: { rack } });
const none = () => new Set(['r1', 'r2']);

test('constraints: UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE and MAX_PER', () => {
  const placed = [site('a'), site('b', 'r2'), site('c')];
  const table: [string[], ReturnType<typeof site>, boolean][] = [
    [['hostname', 'UNIQUE'], site('a'), false],
    [['hostname', 'UNIQUE'], site('d'), true],
    [['rack', 'CLUSTER', 'r2'], site('d'), false],
    [['rack', 'CLUSTER', 'r2'], site('d', 'r2'), true],
    [['rack', 'GROUP_BY'], site('d'), false], // r1 has 2, r2 has 1
    [['rack', 'GROUP_BY'], site('d', 'r2'), true],
    [['hostname', 'LIKE', '[a-c]'], site('d'), false],
    [['hostname', 'LIKE', '[a-d]'], site('d'), true],
    [['hostname', 'UNLIKE', 'd'], site('d'), false],
    [['rack', 'MAX_PER', '2'], site('d'), false],
    [['rack', 'MAX_PER', '2'], site('d', 'r2'), true],
    [['zone', 'LIKE', '.*'], site('d'), false], // no such attribute
  ];
  for (const [constraint, candidate, allowed] of table) {
    const violated = violatedConstraint([constraint as never], candidate, placed, none);
    assert.equal(
      violated === undefined,
      allowed,
      `${constraint.join(':')} on ${candidate.hostname}/${candidate.attributes.rack}`,
    );
  }
});

function offer(id: string, cpus: number, ports: [number, number][] = [[31000, 31009]]): OfferView {
  return {
    id,
    agentId: `agent-${id}`,
    hostname: `host-${id}`,
    ip: '10.0.0.1',
    role: '*',
    attributes: {},
    free: { cpus, mem: 1024, disk: 0 },
    ports,
  };
}

test('offer matching spreads instances, takes ports, and says why the rest wait', () => {
  const request = {
    appId: '/web',
    count: 3,
    role: '*',
    demand: { cpus: 1, mem: 128 },
    ports: [0, 0],
    constraints: [['hostname', 'UNIQUE'] as const],
    placed: [],
    submittedAtMs: 0,
  };
  const result = matchOffers([request], [offer('1', 4), offer('2', 4)], 'spread', 0);
  assert.equal(result.launches.length, 2);
  assert.deepEqual(new Set(result.launches.map((l) => l.offer.id)), new Set(['1', '2']));
  assert.deepEqual(result.launches[0]?.hostPorts, [31000, 31001]);
  assert.match(
    result.rejections.get('/web')?.message ?? '',
    /2 of 2 offers: constraint hostname:UNIQUE not met/,
  );
  const starved = matchOffers([{ ...request, constraints: [] }], [offer('1', 0.5)], 'spread', 0);
  assert.equal(starved.launches.length, 0);
  assert.equal(starved.rejections.get('/web')?.reasons.get('InsufficientCpus'), 1);
  assert.match(
    starved.rejections.get('/web')?.message ?? '',
    /not enough cpus \(needs 1, has 0.5\)/,
  );
});

let ids = 0;
function instance(fields: Partial<Instance>): Instance {
  ids++;
  return {
    id: `web.${ids}`,
    appId: '/web',
    configVersion: 'v1',
    agentId: 'a',
    hostname: 'h',
    attributes: {},
    ip: '127.0.0.1',
    ports: [31000],
    hasHealthCheck: true,
    state: 'TASK_RUNNING',
    healthy: true,
    isKillWanted: false,
    killSentAtMs: undefined,
    stagedAtMs: ids,
    startedAtMs: ids,
    ...fields,
  };
}

test('a rolling deploy never goes below minimumHealthCapacity nor above maximumOverCapacity', () => {
  for (const [minimumHealthCapacity, maximumOverCapacity] of [
    [1, 0],
    [1, 0.5],
    [0.5, 0],
    [0, 1],
  ] as const) {
    const def = app({
      instances: 4,
      upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity },
    });
    let alive = [1, 2, 3, 4].map(() => instance({ configVersion: 'v1' }));
    const minHealthy = Math.ceil(4 * minimumHealthCapacity);
    const maxTotal = Math.max(4 + Math.floor(4 * maximumOverCapacity), minHealthy >= 4 ? 5 : 0);
    for (let round = 0; round < 20; round++) {
      const step = rolloutStep({
        app: def,
        configVersion: 'v2',
        isDeleting: false,
        isReplacing: true,
        alive,
      });
      if (step.isComplete) break;
      const killed = new Set(step.kill.map((i) => i.id));
      alive = alive.filter((i) => !killed.has(i.id));
      assert.ok(
        alive.filter(isHealthy).length >= minHealthy,
        `${minimumHealthCapacity}/${maximumOverCapacity} round ${round}`,
      );
      // New instances launch, then become healthy on the next round.
      alive = alive.map((i) => (i.configVersion === 'v2' ? { ...i, healthy: true } : i));
      for (let n = 0; n < step.launch; n++)
        alive.push(instance({ configVersion: 'v2', healthy: undefined }));
      assert.ok(alive.length <= maxTotal, `${alive.length} instances > ${maxTotal}`);
      if (round === 19) assert.fail('the deploy never completed');
    }
    assert.ok(alive.every((i) => i.configVersion === 'v2') && alive.length === 4);
  }
});

test('the core delays relaunches of a crashing app by its backoff, and a rollback restores the definition', () => {
  const core = new ServiceCore({
    frameworkRole: '*',
    policy: 'spread',
    stuckAfterMs: 10_000,
    newId: () => String(++ids),
  });
  const v1 = app({ instances: 1, backoffSeconds: 2, backoffFactor: 2 });
  assert.ok(core.putApp(v1, 1000, false).ok);
  core.tick(1000);
  const [launched] = core.offers([offer('1', 4)], 1000).launches;
  assert.ok(launched !== undefined);
  core.statusUpdate(
    {
      taskId: launched.id,
      state: 'TASK_FAILED',
      healthy: undefined,
      message: 'exit 1',
      agentId: 'a',
    },
    2000,
  );
  core.tick(2000);
  assert.equal(core.offers([offer('1', 4)], 3999).launches.length, 0, 'within the 2 s backoff');
  const [second] = core.offers([offer('1', 4)], 4000).launches;
  assert.ok(second !== undefined);
  core.statusUpdate(
    {
      taskId: second.id,
      state: 'TASK_FAILED',
      healthy: undefined,
      message: 'exit 1',
      agentId: 'a',
    },
    4000,
  );
  core.tick(4000);
  assert.equal(core.offers([offer('1', 4)], 7999).launches.length, 0, 'the second delay is 4 s');
  assert.equal(core.offers([offer('1', 4)], 8000).launches.length, 1);

  const deployment = core.deploymentOf('/web');
  assert.ok(deployment !== undefined);
  const v2 = app({ instances: 1, cmd: 'serve --v2' });
  assert.equal(core.putApp(v2, 9000, false).ok, false, 'a running deployment locks the app');
  assert.ok(core.putApp(v2, 9000, true).ok);
  const rollout = core.deploymentOf('/web');
  assert.ok(rollout !== undefined);
  assert.ok(core.cancelDeployment(rollout.id, false, 9500).ok);
  assert.equal(core.apps.get('/web')?.def.cmd, 'serve');
  assert.equal(core.deploymentOf('/web')?.kind, 'rollback');
});

test('unreachableStrategy: Marathon defaults, 422s naming the field, disabled kept as given', () => {
  assert.deepEqual(app().unreachableStrategy, {
    inactiveAfterSeconds: 300,
    expungeAfterSeconds: 600,
  });
  assert.deepEqual(app({ unreachableStrategy: { inactiveAfterSeconds: 5 } }).unreachableStrategy, {
    inactiveAfterSeconds: 5,
    expungeAfterSeconds: 600,
  });
  assert.equal(app({ unreachableStrategy: 'disabled' }).unreachableStrategy, 'disabled');
  const cases: [unknown, string][] = [
    [
      { inactiveAfterSeconds: 60, expungeAfterSeconds: 30 },
      '/unreachableStrategy/expungeAfterSeconds',
    ],
    [{ inactiveAfterSeconds: -1 }, '/unreachableStrategy/inactiveAfterSeconds'],
    [{ inactiveAfterSeconds: 1.5 }, '/unreachableStrategy/inactiveAfterSeconds'],
    [{ inactiveAfterSeconds: 1e12 }, '/unreachableStrategy/inactiveAfterSeconds'],
    ['sometimes', '/unreachableStrategy'],
  ];
  for (const [strategy, path] of cases) {
    const parsed = parseApp({ id: '/web', cmd: 'serve', unreachableStrategy: strategy });
    assert.equal(parsed.ok, false, JSON.stringify(strategy));
    if (parsed.ok) continue;
    assert.ok(
      parsed.failure.details.some((d) => d.path.startsWith(path)),
      `${JSON.stringify(strategy)}: ${JSON.stringify(parsed.failure.details)}`,
    );
  }
});

function unreachableCore(strategy: unknown, instances = 1) {
  const core = new ServiceCore({
    frameworkRole: '*',
    policy: 'spread',
    stuckAfterMs: 600_000,
    newId: () => String(++ids),
  });
  assert.ok(core.putApp(app({ instances, unreachableStrategy: strategy }), 0, false).ok);
  core.tick(0);
  const launched = core.offers([offer('1', 4)], 0).launches;
  const update = (taskId: string, state: TaskState, nowMs: number) =>
    core.statusUpdate(
      { taskId, state, healthy: undefined, message: undefined, agentId: 'a' },
      nowMs,
    );
  for (const instance of launched) update(instance.id, 'TASK_RUNNING', 0);
  return { core, launched, update };
}

test('an unreachable instance counts until inactiveAfterSeconds, then is replaced; the younger surplus goes when it returns', () => {
  const { core, launched, update } = unreachableCore({
    inactiveAfterSeconds: 10,
    expungeAfterSeconds: 60,
  });
  const [old] = launched;
  assert.ok(old !== undefined);
  update(old.id, 'TASK_UNREACHABLE', 1000);
  assert.equal(core.instances.get(old.id)?.state, 'TASK_UNREACHABLE');
  core.tick(10_999);
  assert.equal(core.wantsOffers(), false, 'within inactiveAfterSeconds it still counts');
  core.tick(11_000);
  const [replacement] = core.offers([offer('2', 4)], 11_000).launches;
  assert.ok(replacement !== undefined, 'inactive: a replacement is launched');
  update(replacement.id, 'TASK_RUNNING', 12_000);
  // The agent comes back before expungeAfterSeconds, its task still running: one too many.
  assert.equal(update(old.id, 'TASK_RUNNING', 30_000), undefined);
  const kills = core.tick(30_000);
  assert.deepEqual(
    kills.map((i) => i.id),
    [replacement.id],
    'killSelection YOUNGEST_FIRST: the replacement goes, the old one stays',
  );
  assert.equal(core.instances.get(old.id)?.state, 'TASK_RUNNING');
  assert.equal(core.instances.get(old.id)?.unreachableSinceMs, undefined);
});

test('an instance unreachable past expungeAfterSeconds is forgotten and killed if it comes back', () => {
  const { core, launched, update } = unreachableCore({
    inactiveAfterSeconds: 10,
    expungeAfterSeconds: 20,
  });
  const [old] = launched;
  assert.ok(old !== undefined);
  update(old.id, 'TASK_UNREACHABLE', 0);
  core.tick(10_000);
  const [replacement] = core.offers([offer('2', 4)], 10_000).launches;
  assert.ok(replacement !== undefined);
  core.tick(20_000);
  assert.equal(core.instances.has(old.id), false, 'expunged');
  assert.ok(
    core
      .takeEvents()
      .some((e) => e.eventType === 'instance_changed_event' && e.condition === 'Gone'),
  );
  assert.equal(update(old.id, 'TASK_RUNNING', 25_000), 'kill');
  assert.equal(core.wantsOffers(), false, 'the replacement stands');
});

test('unreachableStrategy disabled keeps waiting for the agent; a delete forgets the instance', () => {
  const { core, launched, update } = unreachableCore('disabled');
  const [old] = launched;
  assert.ok(old !== undefined);
  update(old.id, 'TASK_UNREACHABLE', 0);
  core.tick(365 * 86_400_000);
  assert.equal(core.wantsOffers(), false, 'never replaced');
  assert.equal(core.instances.get(old.id)?.state, 'TASK_UNREACHABLE');
  assert.ok(core.deleteApp('/web', 1000).ok);
  core.tick(1001);
  assert.equal(core.instances.has(old.id), false);
  core.tick(1002);
  assert.equal(core.apps.has('/web'), false, 'the delete completes without the agent');
  assert.equal(update(old.id, 'TASK_RUNNING', 2000), 'kill');
});

test('inactiveAfterSeconds 0 replaces an unreachable instance at once', () => {
  const { core, launched, update } = unreachableCore(
    { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    2,
  );
  const [first] = launched;
  assert.ok(first !== undefined);
  update(first.id, 'TASK_UNREACHABLE', 5000);
  core.tick(5000);
  assert.equal(core.instances.has(first.id), false);
  assert.equal(core.queue().get('/web')?.count, 1);
});

test('the DNS zone answers A and SRV records, NXDOMAIN inside the zone, REFUSED outside', () => {
  const zone = new Zone('services.agora.directory', [
    { appLabel: 'web', id: 'web.abc123', ip: '10.0.0.7', ports: [31000] },
    { appLabel: 'web', id: 'web.def456', ip: '10.0.0.8', ports: [31001] },
  ]);
  const ask = (name: string, type: number) => zone.answer({ id: 1, name, type, flags: 0 });
  assert.deepEqual(
    ask('web.services.agora.directory', TYPE_A).answers.map((r) => (r.kind === 'A' ? r.ip : '')),
    ['10.0.0.7', '10.0.0.8'],
  );
  const srv = ask('_web._tcp.services.agora.directory', TYPE_SRV);
  assert.deepEqual(
    srv.answers.map((r) => (r.kind === 'SRV' ? r.port : 0)),
    [31000, 31001],
  );
  assert.equal(srv.additional.length, 2);
  assert.equal(ask('api.services.agora.directory', TYPE_A).rcode, 3);
  assert.equal(ask('example.com', TYPE_A).rcode, 5);
  // A query round trip through the codec; a response that does not fit is truncated.
  const query = Buffer.from(
    '00070100000100000000000003776562087365727669636573056167' +
      '6f7261096469726563746f72790000010001',
    'hex',
  );
  const question = parseQuery(query);
  assert.deepEqual(question, {
    id: 7,
    name: 'web.services.agora.directory',
    type: 1,
    flags: 0x0100,
  });
  const answer = zone.answer(question);
  const response = encodeResponse(question, answer.rcode, answer.answers, answer.additional, 512);
  assert.equal(response.readUInt16BE(6), 2);
  const cut = encodeResponse(question, answer.rcode, answer.answers, [], 80);
  assert.notEqual(cut.readUInt16BE(2) & 0x0200, 0);
});
