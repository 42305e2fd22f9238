// A command task's sandbox directories made ahead and renamed into place (#7 item 17):
// the launch finds its sandbox empty and where it belongs, whichever of its levels
// existed, and a spare is used once.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { makeSandbox, SpareSandbox, sandboxLevels } from '../../src/agent/spare-sandbox.js';

/** Polls until `probe` holds, failing after 5 s with `what`. */
async function waitFor(what: string, probe: () => true | undefined): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (probe() === undefined) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One spare at a time unless `size` says otherwise. */
function bed(t: TestContext, size = 1) {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-spare-sandbox-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const spares = join(workDir, 'spare-sandboxes');
  const sandbox = (framework: string, executor: string, run: string) =>
    join(workDir, 'slaves', 'S0', 'frameworks', framework, 'executors', executor, 'runs', run);
  return { workDir, spares, spare: new SpareSandbox(spares, size), sandbox };
}

/** Whether `path` is a new sandbox: a directory holding only an empty stdout and stderr. */
function isNewSandbox(path: string): boolean {
  if (!statSync(path).isDirectory()) return false;
  const names = readdirSync(path).sort();
  return (
    names.join() === 'stderr,stdout' &&
    names.every((name) => statSync(join(path, name)).size === 0) &&
    (statSync(join(path, 'stdout')).mode & 0o777) === 0o644
  );
}

test('a spare becomes a new framework’s whole sandbox path, and is used once', async (t) => {
  const { spare, spares, sandbox } = bed(t);
  const first = sandbox('F1', 'task-1', 'c1');
  assert.equal(spare.take(first), false, 'no spare before the first refill');
  await spare.refill();
  assert.equal(spare.take(first), true);
  assert.ok(isNewSandbox(first), 'the sandbox is there, with empty stdout and stderr');
  const second = sandbox('F2', 'task-2', 'c2');
  assert.equal(spare.take(second), false, 'the spare went to the first launch');
  assert.equal(existsSync(second), false);
  await waitFor('nothing of the spare left', () =>
    readdirSync(spares).length === 0 ? true : undefined,
  );
});

test('a spare fills in below a framework or an executor that exists', async (t) => {
  const { spare, spares, sandbox } = bed(t);
  const first = sandbox('F1', 'task-1', 'c1');
  mkdirSync(first, { recursive: true });
  // The framework is there, its new executor is not.
  await spare.refill();
  const other = sandbox('F1', 'task-2', 'c2');
  assert.equal(spare.take(other), true);
  assert.ok(isNewSandbox(other));
  // The executor is there (a task id launched again), its new run is not.
  await spare.refill();
  const again = sandbox('F1', 'task-1', 'c3');
  assert.equal(spare.take(again), true);
  assert.ok(isNewSandbox(again));
  assert.deepEqual(readdirSync(join(first, '..')).sort(), ['c1', 'c3']);
  await waitFor('what was left of the spares gone', () =>
    readdirSync(spares).length === 0 ? true : undefined,
  );
});

test('a sandbox that exists already, or a nested one, is not the spare’s: the caller makes it', async (t) => {
  const { spare, sandbox } = bed(t);
  const taken = sandbox('F1', 'task-1', 'c1');
  mkdirSync(join(taken, 'kept'), { recursive: true });
  await spare.refill();
  assert.equal(spare.take(taken), false);
  assert.ok(existsSync(join(taken, 'kept')), 'what was there is untouched');
  await spare.refill();
  assert.equal(spare.take(join(taken, 'containers', 'child')), false);
  assert.equal(sandboxLevels(join(taken, 'containers', 'child')), undefined);
});

test('a refill after a restart removes what the earlier life left', async (t) => {
  const { spares, spare } = bed(t);
  mkdirSync(join(spares, 'left-over', 'executors'), { recursive: true });
  await spare.refill();
  const names = readdirSync(spares);
  assert.equal(names.length, 1);
  assert.notEqual(names[0], 'left-over');
});

test('a refill keeps several spares ready, one launch each', async (t) => {
  const { spare, sandbox } = bed(t, 3);
  await spare.refill();
  for (const i of [1, 2, 3]) {
    const path = sandbox('F1', `task-${i}`, `c${i}`);
    assert.equal(spare.take(path), true, `launch ${i} took a spare`);
    assert.ok(isNewSandbox(path));
  }
  assert.equal(spare.take(sandbox('F1', 'task-4', 'c4')), false, 'three were kept, not more');
  await spare.refill();
  assert.equal(spare.take(sandbox('F1', 'task-4', 'c4')), true, 'the refill made them again');
});

test('a sandbox made without a spare has its levels, below a framework or not', async (t) => {
  const { sandbox } = bed(t);
  const first = sandbox('F1', 'task-1', 'c1');
  await makeSandbox(first);
  assert.ok(statSync(first).isDirectory(), 'a new framework: made whole');
  const second = sandbox('F1', 'task-2', 'c2');
  await makeSandbox(second);
  assert.deepEqual(readdirSync(second), [], 'below a framework that exists: empty');
  const again = sandbox('F1', 'task-1', 'c3');
  await makeSandbox(again);
  assert.deepEqual(readdirSync(join(again, '..')).sort(), ['c1', 'c3'], 'an executor that exists');
});
