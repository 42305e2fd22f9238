// Persistent volumes in the Resource algebra: laws that must hold for any volume on any
// reserved disk, checked with random ones (Mesos docs/persistent-volume.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Resources } from '../../src/resources/index.js';
import type { ReservationInfo, Resource } from '../../src/wire/index.js';
import { arbResources } from './arbitraries.js';

const RUNS = { numRuns: 300 };

const reservation = fc.oneof(
  fc
    .constantFrom('eng', 'ops', 'eng/web')
    .map((role): ReservationInfo[] => [{ type: 'STATIC', role }]),
  fc
    .record({
      role: fc.constantFrom('eng', 'ops', 'eng/web'),
      principal: fc.constantFrom('ops', 'ci'),
    })
    .map(({ role, principal }): ReservationInfo[] => [{ type: 'DYNAMIC', role, principal }]),
);

/** Reserved disk, and the same disk made a persistent volume (what CREATE makes of it). */
const arbVolume = fc
  .record({
    millis: fc.integer({ min: 1, max: 10_000_000 }),
    reservations: reservation,
    id: fc.constantFrom('pg-1', 'pg-2', 'data', 'x'),
    containerPath: fc.constantFrom('data', 'pgdata', 'var/lib'),
    source: fc.option(fc.constant({ type: 'PATH' }), { nil: undefined }),
    allocated: fc.option(fc.constantFrom('eng', 'ops'), { nil: undefined }),
  })
  .map(({ millis, reservations, id, containerPath, source, allocated }) => {
    const base: Resource = {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: millis / 1000 },
      reservations,
      ...(source !== undefined ? { disk: { source } } : {}),
      ...(allocated !== undefined ? { allocation_info: { role: allocated } } : {}),
    };
    const volume: Resource = {
      ...base,
      disk: {
        ...(source !== undefined ? { source } : {}),
        persistence: { id, principal: 'ops' },
        volume: { container_path: containerPath, mode: 'RW' },
      },
    };
    return { disk: Resources.fromWire([base]), volume: Resources.fromWire([volume]) };
  });

test('resources volume: create then destroy gives back the reserved disk', () => {
  fc.assert(
    fc.property(arbResources(), arbVolume, (rest, { disk, volume }) => {
      const total = rest.plus(disk);
      const created = total.minus(volume.withoutPersistentVolumes()).plus(volume);
      const destroyed = created.minus(volume).plus(volume.withoutPersistentVolumes());
      return (
        volume.withoutPersistentVolumes().equals(disk) &&
        destroyed.equals(total) &&
        created.persistentVolumes().contains(volume)
      );
    }),
    RUNS,
  );
});

test('resources volume: never merges with plain disk of the same reservation', () => {
  fc.assert(
    fc.property(arbVolume, arbVolume, ({ disk }, { volume }) => {
      const sum = disk.plus(volume);
      return (
        !disk.contains(volume) &&
        !volume.contains(disk) &&
        sum.minus(disk).equals(volume) &&
        sum.persistentVolumes().equals(volume) &&
        sum.withoutPersistentVolumes().persistentVolumes().isEmpty()
      );
    }),
    RUNS,
  );
});

test('resources volume: a task using a volume gives it back whole when it ends', () => {
  const cpusMem = Resources.parse('cpus:1;mem:128');
  fc.assert(
    fc.property(arbResources(), arbVolume, (rest, { volume }) => {
      const agent = rest.plus(cpusMem).plus(volume);
      const task = cpusMem.plus(volume);
      const whileRunning = agent.minus(task);
      const after = whileRunning.plus(task);
      return (
        !whileRunning.contains(volume) &&
        after.equals(agent) &&
        after.persistentVolumes().equals(agent.persistentVolumes())
      );
    }),
    RUNS,
  );
});

test('resources volume: checkpointed holds volumes on static reservations and dynamic reservations, nothing else', () => {
  fc.assert(
    fc.property(arbResources(), arbVolume, (rest, { volume }) => {
      const agent = rest.plus(volume);
      const kept = agent.checkpointed();
      const notVolumes = kept.minus(kept.persistentVolumes());
      return kept.contains(volume) && notVolumes.isDynamicallyReserved();
    }),
    RUNS,
  );
});

test('resources volume: resizing keeps the volume identity and sums exactly in thousandths', () => {
  const [volume] = Resources.fromWire([
    {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: 1024 },
      reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops' }],
      disk: {
        persistence: { id: 'v' },
        volume: { container_path: 'data', mode: 'RW' },
      },
    },
  ]).toWire();
  assert.ok(volume !== undefined);
  const grown = Resources.fromWire([volume]).withScalarMillis(1_536_100);
  assert.equal(grown.scalar('disk'), 1536.1);
  assert.ok(grown.persistentVolumes().equals(grown));
  assert.throws(() => Resources.parse('cpus:1;mem:2').withScalarMillis(5), /cannot resize/);
});
