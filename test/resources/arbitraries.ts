// fast-check arbitraries of wire resources and of Resources values.
import fc from 'fast-check';
import { Resources } from '../../src/resources/index.js';
import type { ReservationInfo, Resource } from '../../src/wire/index.js';

export interface ResourceShape {
  /** Allow reservations (static, dynamic and, with `refined`, refined stacks). */
  readonly reserved: boolean;
  /** Allow refined (two-level) reservation stacks. */
  readonly refined: boolean;
  /** Allow dynamic reservations. */
  readonly dynamic: boolean;
  /** Allow allocation_info, revocable, shared and disk. */
  readonly decorated: boolean;
}

const FULL: ResourceShape = { reserved: true, refined: true, dynamic: true, decorated: true };

/** Fractional scalars: exact thousandths, and arbitrary doubles that round to thousandths. */
const scalarValue = fc.oneof(
  fc.integer({ min: 1, max: 5_000_000 }).map((millis) => millis / 1000),
  fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }),
);

const ranges = fc.array(
  fc
    .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 10 }))
    .map(([begin, length]) => ({ begin: 31_000 + begin, end: 31_000 + begin + length })),
  { minLength: 1, maxLength: 4 },
);

const items = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'zone-1'), {
  minLength: 1,
  maxLength: 4,
});

const labels = fc.option(
  fc.constantFrom(
    { labels: [{ key: 'team', value: 'web' }] },
    { labels: [{ key: 'tier' }, { key: 'env', value: 'prod' }] },
  ),
  { nil: undefined },
);

function reservations(shape: ResourceShape): fc.Arbitrary<readonly ReservationInfo[] | undefined> {
  const role = fc.constantFrom('eng', 'ops', 'eng/web');
  const staticStack = role.map((r): readonly ReservationInfo[] => [{ type: 'STATIC', role: r }]);
  const dynamicStack = fc
    .record({
      role,
      principal: fc.option(fc.constantFrom('ops', 'ci'), { nil: undefined }),
      labels,
    })
    .map(({ role: r, principal, labels: l }): readonly ReservationInfo[] => [
      {
        type: 'DYNAMIC',
        role: r,
        ...(principal === undefined ? {} : { principal }),
        ...(l === undefined ? {} : { labels: l }),
      },
    ]);
  const refinedStack = fc
    .constantFrom<ReservationInfo['type']>('STATIC', 'DYNAMIC')
    .map((type): readonly ReservationInfo[] => [
      { type, role: 'eng' },
      { type: 'DYNAMIC', role: 'eng/web', principal: 'ops' },
    ]);
  const stacks: fc.Arbitrary<readonly ReservationInfo[] | undefined>[] = [fc.constant(undefined)];
  if (shape.reserved) stacks.push(staticStack);
  if (shape.reserved && shape.dynamic) stacks.push(dynamicStack);
  if (shape.reserved && shape.refined) stacks.push(refinedStack);
  return fc.oneof(...stacks);
}

function decorations(shape: ResourceShape, name: string): fc.Arbitrary<Partial<Resource>> {
  if (!shape.decorated) return fc.constant({});
  return fc
    .record({
      allocation: fc.option(fc.constantFrom('eng', 'ops', 'eng/web'), { nil: undefined }),
      revocable: fc.boolean(),
      shared: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      volume: fc.integer({ min: 0, max: 4 }).map((n) => n === 0 && name === 'disk'),
    })
    .map(({ allocation, revocable, shared, volume }) => ({
      ...(allocation === undefined ? {} : { allocation_info: { role: allocation } }),
      ...(revocable ? { revocable: {} } : {}),
      ...(shared ? { shared: {} } : {}),
      ...(volume
        ? { disk: { persistence: { id: 'vol-1' }, volume: { container_path: 'data', mode: 'RW' } } }
        : {}),
    }));
}

/** One wire resource in post-refinement form. */
export function arbResource(shape: ResourceShape = FULL): fc.Arbitrary<Resource> {
  const value = fc.oneof(
    fc
      .tuple(fc.constantFrom('cpus', 'mem', 'disk', 'gpus'), scalarValue)
      .map(([name, v]): Resource => ({ name, type: 'SCALAR', scalar: { value: v } })),
    ranges.map((r): Resource => ({ name: 'ports', type: 'RANGES', ranges: { range: r } })),
    items.map((i): Resource => ({ name: 'zones', type: 'SET', set: { item: i } })),
  );
  return value.chain((resource) =>
    fc.tuple(reservations(shape), decorations(shape, resource.name)).map(([stack, extra]) => ({
      ...resource,
      ...(stack === undefined ? {} : { reservations: stack }),
      ...extra,
    })),
  );
}

export function arbResources(shape: ResourceShape = FULL): fc.Arbitrary<Resources> {
  return fc.array(arbResource(shape), { maxLength: 8 }).map((list) => Resources.fromWire(list));
}

/** Resources that Resources.parse can read back from toString: unreserved or static only. */
export const arbPlainResources = arbResources({
  reserved: true,
  refined: false,
  dynamic: false,
  decorated: false,
});

/** Resources with a pre-refinement form: no refined reservations. */
export const arbUnrefinedResources = arbResources({ ...FULL, refined: false });

export const arbNonEmptyResources = fc
  .array(arbResource(), { minLength: 1, maxLength: 8 })
  .map((list) => Resources.fromWire(list))
  .filter((r) => !r.isEmpty());
