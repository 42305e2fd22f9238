import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QuotaConfig } from '../../src/allocator/index.js';
import { validateQuotaUpdate, validateWeights } from '../../src/master/core/quota.js';
import { AgoraError, BadRequestError } from '../../src/wire/index.js';

const context = (
  current: QuotaConfig[] = [],
  consumed: Record<string, Record<string, number>> = {},
) => ({
  current: new Map(current.map((c) => [c.role, c])),
  consumed: (role: string) => consumed[role] ?? {},
  capacity: { cpus: 100, mem: 100_000 },
});
const q = (
  role: string,
  guarantees: Record<string, number> = {},
  limits: Record<string, number> = {},
) => ({
  role,
  guarantees: Object.fromEntries(Object.entries(guarantees).map(([k, v]) => [k, { value: v }])),
  limits: Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, { value: v }])),
});

function rejects(fn: () => unknown, code: 'BAD_REQUEST' | 'CONFLICT', message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AgoraError);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

test('quota update turns configs into units and accepts a consistent tree', () => {
  const configs = validateQuotaUpdate(
    [q('eng', { cpus: 10 }, { cpus: 20 }), q('eng/web', { cpus: 4 }, { cpus: 8 })],
    false,
    context(),
  );
  assert.deepEqual(configs, [
    { role: 'eng', guarantees: { cpus: 10 }, limits: { cpus: 20 } },
    { role: 'eng/web', guarantees: { cpus: 4 }, limits: { cpus: 8 } },
  ]);
});

test("quota update refuses a sub-role limit above its ancestor's", () => {
  rejects(
    () =>
      validateQuotaUpdate(
        [q('eng/web', {}, { cpus: 30 })],
        false,
        context([{ role: 'eng', guarantees: {}, limits: { cpus: 20 } }]),
      ),
    'BAD_REQUEST',
    /'eng\/web' would have a cpus limit of 30, above its ancestor 'eng''s 20/,
  );
});

test("quota update refuses sub-role guarantees that add up to more than the parent's", () => {
  rejects(
    () =>
      validateQuotaUpdate(
        [q('eng/b', { cpus: 6 })],
        false,
        context([
          { role: 'eng', guarantees: { cpus: 10 }, limits: {} },
          { role: 'eng/a', guarantees: { cpus: 5 }, limits: {} },
        ]),
      ),
    'BAD_REQUEST',
    /sub-roles of 'eng' would be guaranteed 11 cpus, more than its own guarantee of 10/,
  );
});

test('quota update refuses a limit below what the role consumes, unless forced', () => {
  const ctx = context([], { dev: { cpus: 6 } });
  rejects(
    () => validateQuotaUpdate([q('dev', {}, { cpus: 4 })], false, ctx),
    'CONFLICT',
    /already consumes 6 cpus, above the new limit of 4/,
  );
  assert.equal(validateQuotaUpdate([q('dev', {}, { cpus: 4 })], true, ctx).length, 1);
});

test('quota update counts only top-level guarantees against the cluster (sub-roles are inside them)', () => {
  assert.equal(
    validateQuotaUpdate([q('eng', { cpus: 80 }), q('eng/web', { cpus: 40 })], false, context())
      .length,
    2,
  );
  rejects(
    () => validateQuotaUpdate([q('eng', { cpus: 80 }), q('ops', { cpus: 40 })], false, context()),
    'CONFLICT',
    /total 120 cpus, more than the cluster's 100/,
  );
});

test('quota update with nothing in it removes the role from the tree it checks', () => {
  const current = [{ role: 'eng', guarantees: {}, limits: { cpus: 1 } }];
  assert.deepEqual(
    validateQuotaUpdate([q('eng'), q('eng/web', {}, { cpus: 5 })], false, context(current)),
    [
      { role: 'eng', guarantees: {}, limits: {} },
      { role: 'eng/web', guarantees: {}, limits: { cpus: 5 } },
    ],
  );
});

test('weights need a valid role, once each', () => {
  assert.deepEqual(validateWeights([{ role: 'eng', weight: 2 }]), [{ role: 'eng', weight: 2 }]);
  assert.throws(
    () => validateWeights([{ weight: 2 }]),
    (e: unknown) =>
      e instanceof BadRequestError && e.field === 'update_weights.weight_infos[0].role',
  );
  assert.throws(
    () =>
      validateWeights([
        { role: 'a', weight: 1 },
        { role: 'a', weight: 2 },
      ]),
    /appears more than once/,
  );
});
