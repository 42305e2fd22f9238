import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MASTER_NODE_FLAGS, masterNodeFlags } from '../../src/cli/master-node-flags.js';

const YOUNG = '--max-semi-space-size=64';
const OLD = '--initial-old-space-size=256';

test('a master started by agora up gets the larger young generation and the later first marking', () => {
  assert.deepEqual(masterNodeFlags(undefined, []), [YOUNG, OLD]);
  assert.deepEqual(masterNodeFlags('--enable-source-maps', ['--no-warnings']), MASTER_NODE_FLAGS);
  assert.deepEqual(MASTER_NODE_FLAGS, [YOUNG, OLD]);
});

test("the operator's NODE_OPTIONS sizing a space wins for that space only", () => {
  assert.deepEqual(masterNodeFlags('--max-semi-space-size=8 --enable-source-maps', []), [OLD]);
  assert.deepEqual(masterNodeFlags('--max_semi_space_size=128', []), [OLD]);
  assert.deepEqual(masterNodeFlags('--max-old-space-size=2048', []), [YOUNG]);
  assert.deepEqual(masterNodeFlags('--initial_old_space_size=64', []), [YOUNG]);
  assert.deepEqual(masterNodeFlags('--max-heap-size=4096', []), [YOUNG]);
  assert.deepEqual(
    masterNodeFlags('--min-semi-space-size=16 --initial-old-space-size=1024', []),
    [],
  );
});

test("a size given to agora up's own node is passed on to its masters", () => {
  assert.deepEqual(masterNodeFlags(undefined, ['--max-semi-space-size=32', '--no-warnings']), [
    '--max-semi-space-size=32',
    OLD,
  ]);
  assert.deepEqual(masterNodeFlags(undefined, ['--initial-old-space-size=512']), [
    YOUNG,
    '--initial-old-space-size=512',
  ]);
});
