// Maintenance and inverse offers (#8, section 5; docs/maintenance.md), each
// rule driven through the core on a manual clock and read from the outbox.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as frameworks from '../../src/master/core/frameworks.js';
import { answerInverseOffers } from '../../src/master/core/inverse-offers.js';
import * as maintenance from '../../src/master/core/maintenance.js';
import { recoverRegistry } from '../../src/master/core/recovery.js';
import { maintenanceStatus } from '../../src/master/http/render.js';
import { v1Framework } from '../../src/master/http/render-v1.js';
import { EMPTY_REGISTRY_STATE } from '../../src/registry/index.js';
import {
  agentId,
  BadRequestError,
  type FrameworkID,
  type InverseOffer,
  type MaintenanceSchedule,
} from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

const START_NS = 1_443_830_400_000_000_000;
const HOUR_NS = 3_600_000_000_000;
const unavailability = { start: { nanoseconds: START_NS }, duration: { nanoseconds: HOUR_NS } };
const machine1 = { hostname: 'm1.example', ip: '10.0.0.1' };
const machine2 = { hostname: 'm2.example', ip: '10.0.0.2' };
const schedule = (...machines: { hostname?: string; ip?: string }[]): MaintenanceSchedule => ({
  windows: [{ machine_ids: machines, unavailability }],
});

/** Two agents, one on each machine, and a framework running a task on the first. */
function cluster(options: { readonly partitionAware?: boolean } = {}) {
  const bed = new CoreBed();
  const a1 = bed.addAgent('cpus:2;mem:1024', { hostname: 'M1.example', ip: '10.0.0.1' });
  const a2 = bed.addAgent('cpus:2;mem:1024', { hostname: 'm2.example', ip: '10.0.0.2' });
  const fw = bed.subscribe(
    options.partitionAware === true ? { capabilities: [{ type: 'PARTITION_AWARE' }] } : {},
  );
  bed.launch(fw, 't', a1.id);
  bed.report(a1.id, fw.id, 't', 'TASK_RUNNING');
  return { bed, a1, a2, fw };
}

const inverseOffersOn = (bed: CoreBed, streamId: string): InverseOffer[] =>
  bed
    .eventsOn(streamId)
    .flatMap((e) => (e.type === 'INVERSE_OFFERS' ? e.inverse_offers.inverse_offers : []));

/** The framework subscribes again with its id on a new stream (a scheduler failing over). */
function failOver(bed: CoreBed, id: FrameworkID): string {
  const second = bed.newStreamId();
  frameworks.subscribe(
    bed.core,
    { framework_info: { ...bed.framework(id).info } },
    second,
    undefined,
  );
  return second;
}

test('maintenance schedule: refused as Mesos refuses it, and nothing changes', () => {
  const bed = new CoreBed();
  maintenance.updateSchedule(bed.core, schedule(machine1));
  maintenance.startMaintenance(bed.core, [machine1]);
  const before = structuredClone(bed.core.books.schedule);
  const cases: [what: string, schedule: MaintenanceSchedule, message: RegExp][] = [
    ['a window without machines', { windows: [{ unavailability }] }, /window is empty/],
    ['a machine with neither name', schedule(machine1, {}), /Both 'hostname' and 'ip'/],
    ['an ip that is not IPv4', schedule(machine1, { ip: '10.0.0' }), /not an IPv4 address/],
    [
      'a machine twice (hostnames compare without case)',
      schedule(machine1, machine2, { hostname: 'M2.EXAMPLE', ip: '10.0.0.2' }),
      /appears more than once/,
    ],
    ['a DOWN machine left out', schedule(machine2), /cannot be removed from the schedule/],
  ];
  for (const [what, bad, message] of cases)
    assert.throws(
      () => maintenance.updateSchedule(bed.core, bad),
      (error: unknown) => error instanceof BadRequestError && message.test(error.message),
      what,
    );
  assert.deepEqual(bed.core.books.schedule, before);
  assert.throws(() => maintenance.startMaintenance(bed.core, []), /List of machines is empty/);
  assert.throws(
    () => maintenance.startMaintenance(bed.core, [machine2]),
    /not part of a maintenance schedule/,
  );
  assert.throws(() => maintenance.startMaintenance(bed.core, [machine1]), /not in DRAINING mode/);
  assert.throws(() => maintenance.stopMaintenance(bed.core, [machine2]), /not part of/);
});

test('maintenance schedule: offers of a scheduled machine are rescinded and come back with its unavailability', () => {
  const { bed, a1, a2, fw } = cluster();
  bed.advance(5000);
  const before = bed.offersOn(fw.streamId).length;
  // A hostname alone never matches an agent: Mesos matches hostname and ip together.
  maintenance.updateSchedule(bed.core, {
    windows: [
      { machine_ids: [machine1], unavailability },
      { machine_ids: [{ hostname: 'm2.example' }], unavailability },
    ],
  });
  bed.drain();
  assert.ok(bed.eventsOn(fw.streamId).some((e) => e.type === 'RESCIND'));
  bed.advance(0);
  const offers = bed.offersOn(fw.streamId).slice(before);
  const of = (id: string) => offers.filter((o) => o.agent_id.value === id);
  assert.deepEqual(of(a1.id).at(-1)?.unavailability, unavailability);
  assert.ok(of(a2.id).length === 0 || of(a2.id).every((o) => o.unavailability === undefined));
  assert.ok(
    bed.effects.some(
      (e) => e.kind === 'persist' && e.operation.kind === 'updateMaintenanceSchedule',
    ),
  );
});

test('inverse offers: a framework with a task on a draining machine gets one; its DECLINE shows in the status', () => {
  const { bed, a1, fw } = cluster();
  const other = bed.subscribe({ name: 'elsewhere' });
  maintenance.updateSchedule(bed.core, schedule(machine1));
  bed.advance(0);
  const [inverse] = inverseOffersOn(bed, fw.streamId);
  assert.ok(inverse !== undefined, 'an inverse offer');
  assert.equal(inverse.agent_id?.value, a1.id);
  assert.deepEqual(inverse.unavailability, unavailability);
  assert.equal(inverse.resources, undefined, 'the whole agent');
  assert.equal(inverse.url?.address.ip, '10.0.0.1');
  // Asked: those with tasks or offers on the agent (Mesos: offered or allocated), no one else.
  const holdsOfferOnA1 = bed.core.books
    .offersOf(bed.framework(other.id))
    .some((o) => o.agentId.value === a1.id);
  assert.deepEqual(
    inverseOffersOn(bed, other.streamId).map((o) => o.agent_id?.value),
    holdsOfferOnA1 ? [a1.id] : [],
  );
  bed.advance(10_000);
  assert.equal(inverseOffersOn(bed, fw.streamId).length, 1, 'not asked again while outstanding');
  assert.deepEqual(
    v1Framework(bed.core.books, bed.framework(fw.id)).inverse_offers,
    [inverse],
    'GET_FRAMEWORKS lists it',
  );

  answerInverseOffers(bed.core, bed.framework(fw.id), [inverse.id.value], 'DECLINE', 30);
  const status = maintenanceStatus(bed.core.books);
  assert.deepEqual(status, {
    draining_machines: [
      {
        id: machine1,
        statuses: [
          {
            status: 'DECLINE',
            framework_id: fw.id,
            timestamp: { nanoseconds: BigInt(bed.clock.now()) * 1_000_000n },
          },
        ],
      },
    ],
  });
  bed.advance(29_999);
  assert.equal(inverseOffersOn(bed, fw.streamId).length, 1, 'filtered for refuse_seconds');
  bed.advance(1001); // the next allocation cycle after the filter expires
  assert.equal(inverseOffersOn(bed, fw.streamId).length, 2, 'asked again');
});

test('inverse offers: a new window rescinds them and forgets the answers; ACCEPT is recorded too', () => {
  const { bed, fw } = cluster();
  maintenance.updateSchedule(bed.core, schedule(machine1));
  bed.advance(0);
  const [first] = inverseOffersOn(bed, fw.streamId);
  assert.ok(first !== undefined);
  answerInverseOffers(bed.core, bed.framework(fw.id), [first.id.value], 'ACCEPT', 0);
  assert.equal(
    (maintenanceStatus(bed.core.books).draining_machines as { statuses: { status: string }[] }[])[0]
      ?.statuses[0]?.status,
    'ACCEPT',
  );
  bed.advance(1000);
  const [second] = inverseOffersOn(bed, fw.streamId).slice(1);
  assert.ok(second !== undefined, 'refuse_seconds 0: asked again at the next cycle');
  maintenance.updateSchedule(bed.core, {
    windows: [
      { machine_ids: [machine1], unavailability: { start: { nanoseconds: START_NS * 2 } } },
    ],
  });
  bed.drain();
  assert.ok(
    bed
      .eventsOn(fw.streamId)
      .some(
        (e) =>
          e.type === 'RESCIND_INVERSE_OFFER' &&
          e.rescind_inverse_offer.inverse_offer_id.value === second.id.value,
      ),
  );
  assert.deepEqual(maintenanceStatus(bed.core.books), { draining_machines: [{ id: machine1 }] });
  bed.advance(0);
  assert.deepEqual(inverseOffersOn(bed, fw.streamId).at(-1)?.unavailability, {
    start: { nanoseconds: START_NS * 2 },
  });
  maintenance.updateSchedule(bed.core, {});
  bed.drain();
  assert.deepEqual(maintenanceStatus(bed.core.books), {}, 'an empty schedule cancels');
  assert.equal(bed.core.books.inverseOffers.size, 0);
});

test('inverse offers: a framework that fails over is asked again on its new stream', () => {
  const { bed, fw } = cluster();
  maintenance.updateSchedule(bed.core, schedule(machine1));
  bed.advance(0);
  assert.equal(inverseOffersOn(bed, fw.streamId).length, 1);
  const second = failOver(bed, fw.id);
  bed.advance(1000);
  assert.equal(inverseOffersOn(bed, second).length, 1);
  assert.equal(bed.core.books.inverseOffers.size, 1, 'the old one is gone');
});

test('inverse offers: a framework that declined for a while and fails over is asked again at once', () => {
  const { bed, fw } = cluster();
  maintenance.updateSchedule(bed.core, schedule(machine1));
  bed.advance(0);
  const [inverse] = inverseOffersOn(bed, fw.streamId);
  assert.ok(inverse !== undefined);
  answerInverseOffers(bed.core, bed.framework(fw.id), [inverse.id.value], 'DECLINE', 3600);
  bed.advance(1000);
  assert.equal(bed.core.books.inverseOffers.size, 0, 'filtered for an hour');
  // Its filters went with its old stream (Mesos drops them on failover, as its offers).
  const second = failOver(bed, fw.id);
  bed.advance(1000);
  assert.equal(inverseOffersOn(bed, second).length, 1, 'asked again on the new stream');
});

test('START_MAINTENANCE: the machine goes DOWN, its agent is shut down and removed, tasks TASK_LOST; STOP_MAINTENANCE lets it back', () => {
  const { bed, a1, fw } = cluster({ partitionAware: true });
  maintenance.updateSchedule(bed.core, schedule(machine1, machine2));
  maintenance.startMaintenance(bed.core, [{ hostname: 'm1.EXAMPLE', ip: '10.0.0.1' }]);
  bed.drain();
  const [lost] = bed.updatesOn(fw.streamId).slice(-1);
  assert.equal(lost?.state, 'TASK_LOST', 'even for a PARTITION_AWARE framework, as Mesos does');
  assert.equal(lost?.reason, 'REASON_AGENT_REMOVED');
  assert.match(lost?.message ?? '', /Machine DOWN/);
  assert.ok(bed.commandsOn(a1.streamId).some((c) => c.type === 'SHUTDOWN'));
  assert.equal(bed.core.books.agents.has(a1.id), false, 'removed');
  assert.deepEqual(maintenanceStatus(bed.core.books), {
    draining_machines: [{ id: machine2 }],
    down_machines: [{ hostname: 'm1.example', ip: '10.0.0.1' }],
  });
  const refused = bed.tryAddAgent('cpus:2;mem:1024', { hostname: 'm1.example', ip: '10.0.0.1' });
  assert.equal(refused.id, undefined, 'refused while DOWN');
  assert.equal(bed.commandsOn(refused.streamId)[0]?.type, 'ERROR');
  assert.throws(() => maintenance.stopMaintenance(bed.core, [machine2]), /not in DOWN mode/);

  maintenance.stopMaintenance(bed.core, [machine1]);
  assert.deepEqual(bed.core.books.schedule, schedule(machine2), 'out of the schedule');
  const back = bed.tryAddAgent('cpus:2;mem:1024', { hostname: 'm1.example', ip: '10.0.0.1' });
  assert.ok(back.id !== undefined, 'registers once UP');
  assert.deepEqual(
    bed.effects.flatMap((e) =>
      e.kind === 'persist' && e.operation.kind.endsWith('Maintenance') ? [e.operation.kind] : [],
    ),
    ['startMaintenance', 'stopMaintenance'],
  );
});

test('maintenance, drains and deactivations come back from the registry after a master restart', () => {
  const bed = new CoreBed();
  const info = (id: string, hostname: string) => ({ id: agentId(id), hostname, port: 5051 });
  recoverRegistry(bed.core, {
    ...EMPTY_REGISTRY_STATE,
    agents: new Map([
      ['a1', info('a1', 'h1')],
      ['a2', info('a2', 'h2')],
    ]),
    deactivatedAgents: new Set(['a1', 'a2']),
    drainingAgents: new Map([['a2', { state: 'DRAINED', config: { mark_gone: false } }]]),
    schedule: schedule(machine1, machine2),
    downMachines: [machine2],
  });
  assert.equal(bed.agent('a1').isDeactivated, true);
  assert.equal(bed.agent('a2').drain?.state, 'DRAINED');
  assert.deepEqual(maintenanceStatus(bed.core.books), {
    draining_machines: [{ id: machine1 }],
    down_machines: [machine2],
  });
  // a1 comes back: still deactivated, so not offered.
  const fw = bed.subscribe();
  bed.addAgent('cpus:1;mem:128', { id: 'a1', hostname: 'h1' });
  bed.advance(5000);
  assert.equal(bed.offersOn(fw.streamId).length, 0);
});
