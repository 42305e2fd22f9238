import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MASTER_NODE_FLAGS, masterNodeFlags } from '../../src/cli/master-node-flags.js';

test('a master started by agora up gets the larger young generation by default', () => {
  assert.deepEqual(masterNodeFlags(undefined, []), ['--max-semi-space-size=64']);
  assert.deepEqual(masterNodeFlags('--enable-source-maps', ['--no-warnings']), MASTER_NODE_FLAGS);
});

test("the operator's NODE_OPTIONS sizing the young generation wins", () => {
  assert.deepEqual(masterNodeFlags('--max-semi-space-size=8 --enable-source-maps', []), []);
  assert.deepEqual(masterNodeFlags('--max_semi_space_size=128', []), []);
});

test("a size given to agora up's own node is passed on to its masters", () => {
  assert.deepEqual(masterNodeFlags(undefined, ['--max-semi-space-size=32', '--no-warnings']), [
    '--max-semi-space-size=32',
  ]);
});
