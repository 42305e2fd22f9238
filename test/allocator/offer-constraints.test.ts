// Offer constraints and offer filters as the allocator honours them: it looks up which
// agents a framework role excludes (the master evaluates the constraints) and a role's own
// minimum offer (FrameworkInfo.offer_filters), per offer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentId, frameworkId } from '../../src/wire/index.js';
import { Bed, summary } from './harness.js';

test('allocator never offers an agent a framework role excludes, and offers it once the exclusion is lifted', () => {
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096')
    .agent('s2', 'cpus:4;mem:4096')
    .framework('f', ['eng']);
  bed.handle({
    kind: 'agentExcluded',
    frameworkId: frameworkId('f'),
    role: 'eng',
    agentId: agentId('s1'),
    isExcluded: true,
  });
  assert.deepEqual(summary(bed.allocate()), ['f@s2/eng']);
  assert.deepEqual(bed.allocate(), [], 's1 stays unoffered cycle after cycle');
  bed.framework('g', ['eng']);
  assert.deepEqual(summary(bed.allocate()), ['g@s1/eng'], 'another framework of the role gets it');
});

test('allocator offers an excluded agent again when the exclusion goes, even after it was idle', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('f', ['eng']);
  const exclude = (isExcluded: boolean) =>
    bed.handle({
      kind: 'agentExcluded',
      frameworkId: frameworkId('f'),
      role: 'eng',
      agentId: agentId('s1'),
      isExcluded,
    });
  exclude(true);
  assert.deepEqual(bed.allocate(), []);
  assert.deepEqual(bed.allocate(), [], 'the agent is idle now');
  exclude(false);
  assert.deepEqual(summary(bed.allocate()), ['f@s1/eng']);
});

test('allocator exclusions survive a role leaving and coming back', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('f', ['eng']);
  bed.handle({
    kind: 'agentExcluded',
    frameworkId: frameworkId('f'),
    role: 'eng',
    agentId: agentId('s1'),
    isExcluded: true,
  });
  const update = (roles: string[]) =>
    bed.handle({
      kind: 'frameworkUpdated',
      frameworkId: frameworkId('f'),
      roles,
      suppressedRoles: [],
    });
  update(['web']);
  update(['eng']);
  assert.deepEqual(bed.allocate(), []);
});

test('allocator applies a framework role offer_filters instead of the global minimum', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096;disk:100').framework('big', ['eng']);
  bed.handle({
    kind: 'frameworkUpdated',
    frameworkId: frameworkId('big'),
    roles: ['eng'],
    suppressedRoles: [],
    minAllocatable: new Map<string, Record<string, number>[]>([
      ['eng', [{ cpus: 5 }, { disk: 200 }]],
    ]),
  });
  assert.deepEqual(bed.allocate(), [], 'neither 5 cpus nor 200 disk on offer');
  bed.agent('s2', 'cpus:8;mem:4096');
  assert.deepEqual(summary(bed.allocate()), ['big@s2/eng']);
  bed.framework('small', ['eng']);
  assert.deepEqual(summary(bed.allocate()), ['small@s1/eng'], 'others keep the global minimum');
});

test('allocator keeps the global minimum for roles without offer_filters', () => {
  const bed = new Bed().agent('s1', 'cpus:0.001;mem:1').framework('f', ['eng']);
  bed.handle({
    kind: 'frameworkUpdated',
    frameworkId: frameworkId('f'),
    roles: ['eng'],
    suppressedRoles: [],
    minAllocatable: new Map([['web', []]]),
  });
  assert.deepEqual(bed.allocate(), [], 'a crumb below cpus:0.01|mem:32');
});
