// The DRF paper's example (Ghodsi et al., NSDI 2011, §4) and its weighted,
// hierarchical and quota variants. Frameworks take one task per offer and
// decline the rest, as progressive filling assumes; outcomes are exact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bed, summary } from './harness.js';

const PAPER_CLUSTER = 'cpus:9;mem:18432'; // 9 CPUs, 18 GB
const A_TASK = 'cpus:1;mem:4096'; // <1 CPU, 4 GB>: memory-heavy
const B_TASK = 'cpus:3;mem:1024'; // <3 CPUs, 1 GB>: CPU-heavy

test('drf gives the paper example its published outcome: A runs 3 tasks, B runs 2', () => {
  const bed = new Bed().agent('s1', PAPER_CLUSTER).framework('A', ['a']).framework('B', ['b']);
  assert.deepEqual(bed.runTasks({ A: A_TASK, B: B_TASK }), { A: 3, B: 2 });
  const shares = Object.fromEntries(bed.allocator.roles().map((r) => [r.name, r.dominantShare]));
  assert.deepEqual(shares, { a: 2 / 3, b: 2 / 3 }, 'both end at a dominant share of 2/3');
});

test('weighted drf: a role of weight 2 is entitled to twice the dominant share (A 4, B 1)', () => {
  // Weighted shares: A's is n_A × (4/18) / 2 = n_A / 9, B's n_B × 3/9. A reaches 4/9
  // while B holds 1/3; then 2 CPUs and 1 GB are left, which fit neither task.
  const bed = new Bed()
    .agent('s1', PAPER_CLUSTER)
    .framework('A', ['a'])
    .framework('B', ['b'])
    .weights({ a: 2 });
  assert.deepEqual(bed.runTasks({ A: A_TASK, B: B_TASK }), { A: 4, B: 1 });
  assert.equal(bed.allocator.roles().find((r) => r.name === 'a')?.weight, 2);
});

test('hierarchical drf shares between sibling roles first, then within them (A 6, each B 2)', () => {
  // 12 CPUs; A in role 'a', three frameworks under 'b'. At the top, 'a' and 'b' split
  // evenly (6 each); 'b' splits its 6 among b/1, b/2, b/3.
  const bed = new Bed()
    .agent('s1', 'cpus:12;mem:12000')
    .framework('A', ['a'])
    .framework('B1', ['b/1'])
    .framework('B2', ['b/2'])
    .framework('B3', ['b/3']);
  const task = 'cpus:1;mem:1';
  assert.deepEqual(bed.runTasks({ A: task, B1: task, B2: task, B3: task }), {
    A: 6,
    B1: 2,
    B2: 2,
    B3: 2,
  });
});

test('flat drf with the same four frameworks in four top-level roles gives 3 each', () => {
  const bed = new Bed()
    .agent('s1', 'cpus:12;mem:12000')
    .framework('A', ['a'])
    .framework('B1', ['b1'])
    .framework('B2', ['b2'])
    .framework('B3', ['b3']);
  const task = 'cpus:1;mem:1';
  assert.deepEqual(bed.runTasks({ A: task, B1: task, B2: task, B3: task }), {
    A: 3,
    B1: 3,
    B2: 3,
    B3: 3,
  });
});

test('a role and its sub-role compete as siblings: frameworks of eng and eng/web split eng', () => {
  // 'eng' holds one framework itself and one in 'eng/web'; 'ops' is eng's sibling.
  const bed = new Bed()
    .agent('s1', 'cpus:12;mem:12000')
    .framework('E', ['eng'])
    .framework('W', ['eng/web'])
    .framework('O', ['ops']);
  const task = 'cpus:1;mem:1';
  assert.deepEqual(bed.runTasks({ E: task, W: task, O: task }), { E: 3, W: 3, O: 6 });
});

test("a role's own frameworks and its sub-roles break a tie of shares by name", () => {
  // Equal (zero) shares: 'eng' itself sorts before 'eng/web', whichever subscribed first.
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096')
    .framework('W', ['eng/web'])
    .framework('E', ['eng']);
  assert.deepEqual(summary(bed.allocate()), ['E@s1/eng']);
});

test('frameworks within one role share it by their own dominant shares', () => {
  const bed = new Bed().agent('s1', PAPER_CLUSTER).framework('A', ['x']).framework('B', ['x']);
  assert.deepEqual(bed.runTasks({ A: A_TASK, B: B_TASK }), { A: 3, B: 2 });
});

test('a quota guarantee is allocated before fair share, even under contention (B 3, A 0)', () => {
  // B is guaranteed all 9 CPUs: it gets them although plain DRF would give A three tasks.
  const bed = new Bed()
    .agent('s1', PAPER_CLUSTER)
    .framework('A', ['a'])
    .framework('B', ['b'])
    .quota('b', { guarantees: { cpus: 9 } });
  assert.deepEqual(bed.runTasks({ A: A_TASK, B: B_TASK }), { A: 0, B: 3 });
});

test('a quota guarantee that fair share already meets changes nothing (A 3, B 2)', () => {
  const bed = new Bed()
    .agent('s1', PAPER_CLUSTER)
    .framework('A', ['a'])
    .framework('B', ['b'])
    .quota('b', { guarantees: { cpus: 3 } });
  assert.deepEqual(bed.runTasks({ A: A_TASK, B: B_TASK }), { A: 3, B: 2 });
});

test('a quota limit is never exceeded: A is capped at 8 GB, so A 2, B 2', () => {
  const bed = new Bed()
    .agent('s1', PAPER_CLUSTER)
    .framework('A', ['a'])
    .framework('B', ['b'])
    .quota('a', { limits: { mem: 8192 } });
  assert.deepEqual(bed.runTasks({ A: A_TASK, B: B_TASK }), { A: 2, B: 2 });
  const a = bed.allocator.roles().find((r) => r.name === 'a');
  assert.equal(a?.consumed.mem, 8192);
});

test('a parent role limit caps its sub-roles together', () => {
  const bed = new Bed()
    .agent('s1', 'cpus:12;mem:12000')
    .framework('W', ['eng/web'])
    .framework('D', ['eng/db'])
    .quota('eng', { limits: { cpus: 4 } });
  const task = 'cpus:1;mem:1';
  assert.deepEqual(bed.runTasks({ W: task, D: task }), { W: 2, D: 2 });
});
