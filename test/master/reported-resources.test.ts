// The shapes a re-registration's tasks share (master/core/reported-resources.ts): whatever the
// cache holds, a reported list reads as Resources.fromWire reads it, and its allocated value
// is `allocate(role)` of that.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { allocatedTo, reportedShape } from '../../src/master/core/reported-resources.js';
import { Resources } from '../../src/resources/index.js';
import type { Resource } from '../../src/wire/index.js';
import { arbResource } from '../resources/arbitraries.js';

const copy = (wire: readonly Resource[]) => JSON.parse(JSON.stringify(wire)) as Resource[];

test('a reported list reads as fromWire reads it, whatever lists came before', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(arbResource(), { maxLength: 4 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
      fc.constantFrom('web', 'db', '*'),
      (lists, picks, role) => {
        // Lists come again, as equal copies (each task's own parsed objects), interleaved.
        for (const pick of picks) {
          const wire = copy(lists[pick % lists.length] as Resource[]);
          let fresh: Resources;
          try {
            fresh = Resources.fromWire(wire);
          } catch (error) {
            assert.throws(() => reportedShape(wire), { message: (error as Error).message });
            continue;
          }
          const shape = reportedShape(wire);
          assert.ok(shape.resources.equals(fresh), JSON.stringify(wire));
          assert.equal(shape.allocationRole, fresh.allocationRoles()[0]);
          assert.ok(allocatedTo(shape, role).equals(fresh.allocate(role)), JSON.stringify(wire));
          assert.deepEqual(shape.resources.toWire(), fresh.toWire());
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('lists that differ in any value are not taken for one another', () => {
  const cpus = (value: number, role?: string): Resource => ({
    name: 'cpus',
    type: 'SCALAR',
    scalar: { value },
    ...(role === undefined ? {} : { allocation_info: { role } }),
  });
  const lists: Resource[][] = [
    [cpus(1, 'web')],
    [cpus(2, 'web')],
    [cpus(1, 'db')],
    [cpus(1)],
    [cpus(1, 'web'), cpus(1, 'db')],
    [],
  ];
  for (let round = 0; round < 3; round++)
    for (const wire of lists)
      assert.deepEqual(
        reportedShape(copy(wire)).resources.toWire(),
        Resources.fromWire(wire).toWire(),
      );
});
