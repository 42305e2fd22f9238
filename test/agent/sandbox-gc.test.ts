// Sandbox garbage collection on a manual clock over real directories: removal
// after --gc_delay, sooner under disk pressure (Mesos' formula), oldest first,
// schedules recovered from mtimes, and nothing outside a sandbox ever removed.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  maxSandboxAgeMs,
  prunableCount,
  removeSandbox,
  SandboxGc,
} from '../../src/agent/sandbox-gc.js';
import { ManualClock, silentLogger } from '../../src/runtime/index.js';

const DAY_MS = 86_400_000;
const START_MS = 1_700_000_000_000;

function bed(
  t: TestContext,
  options: { gcDelayMs?: number; diskWatchIntervalMs?: number; usage?: () => number } = {},
) {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-gc-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const slavesDir = join(workDir, 'slaves');
  const outside = join(workDir, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'precious'), 'keep me');
  const clock = new ManualClock(START_MS);
  const gcDelayMs = options.gcDelayMs ?? 7 * DAY_MS;
  const gc = new SandboxGc({
    slavesDir,
    workDir,
    gcDelayMs,
    diskHeadroom: 0.1,
    diskWatchIntervalMs: options.diskWatchIntervalMs ?? 60_000,
    clock,
    log: silentLogger(),
    diskUsage: async () => options.usage?.() ?? 0,
  });
  t.after(() => gc.stop());
  /** A run directory with a file in it and `runs/latest` pointing at it. */
  const sandbox = (executor: string, run: string, framework = 'F1') => {
    const runs = join(slavesDir, 'S1', 'frameworks', framework, 'executors', executor, 'runs');
    const path = join(runs, run);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'stdout'), 'output');
    rmSync(join(runs, 'latest'), { force: true });
    symlinkSync(run, join(runs, 'latest'));
    return path;
  };
  /** Lets a disk check that the clock fired finish, then the removals it queued. */
  const settle = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await gc.idle();
  };
  return { workDir, slavesDir, outside, clock, gc, gcDelayMs, sandbox, settle };
}

test('gc max sandbox age follows Mesos: gc_delay * max(0, 1 - headroom - usage)', () => {
  assert.equal(maxSandboxAgeMs(100, 0.1, 0), 90);
  assert.equal(maxSandboxAgeMs(100, 0.1, 0.5), 40);
  assert.equal(maxSandboxAgeMs(100, 0.1, 0.9), 0);
  assert.equal(maxSandboxAgeMs(100, 0.1, 1), 0);
  const scheduled = [
    { path: 'a', removeAtMs: 110 },
    { path: 'b', removeAtMs: 150 },
    { path: 'c', removeAtMs: 190 },
  ];
  // Now 100, delay 100: a was retired at 10 (90 old), b at 50, c at 90.
  assert.equal(prunableCount(scheduled, 100, 100, 95), 0);
  assert.equal(prunableCount(scheduled, 100, 100, 90), 1, 'exactly max age old goes');
  assert.equal(prunableCount(scheduled, 100, 100, 50), 2);
  assert.equal(prunableCount(scheduled, 100, 100, 0), 3);
});

test('gc removes a retired sandbox gc_delay later, and the parents it empties', async (t) => {
  // Not started: no disk watch, whose headroom alone would take them at 0.9 gc_delay.
  const { gc, clock, sandbox, gcDelayMs, slavesDir } = bed(t);
  const first = sandbox('E1', 'R1');
  const second = sandbox('E2', 'R2');
  gc.retired(first);
  clock.advance(1000);
  gc.retired(second);
  clock.advance(gcDelayMs - 1001);
  await gc.idle();
  assert.ok(existsSync(first), 'not before gc_delay');
  clock.advance(1);
  await gc.idle();
  assert.equal(existsSync(first), false);
  assert.equal(existsSync(join(first, '..', '..')), false, 'the emptied executor dir went too');
  assert.ok(existsSync(second));
  clock.advance(1000);
  await gc.idle();
  assert.equal(existsSync(second), false);
  assert.deepEqual(
    readdirSync(join(slavesDir, 'S1', 'frameworks')),
    [],
    'the emptied framework dir went too',
  );
  assert.deepEqual(gc.metrics, {
    'gc/path_removals_succeeded': 2,
    'gc/path_removals_failed': 0,
    'gc/path_removals_pending': 0,
  });
  await gc.stop();
  assert.equal(clock.pendingTimers, 0, 'stop() leaves no timer');
});

test('gc keeps a sibling run and the latest link that points to it', async (t) => {
  const { gc, clock, sandbox, gcDelayMs } = bed(t);
  const old = sandbox('E1', 'R1');
  const current = sandbox('E1', 'R2'); // latest -> R2
  gc.retired(old);
  clock.advance(gcDelayMs);
  await gc.idle();
  assert.equal(existsSync(old), false);
  assert.ok(existsSync(current));
  assert.ok(existsSync(join(current, '..', 'latest')));
});

test('gc removes sandboxes sooner when the disk fills, oldest first', async (t) => {
  let usage = 0.2;
  const { gc, clock, sandbox, settle } = bed(t, {
    gcDelayMs: 100 * DAY_MS,
    diskWatchIntervalMs: DAY_MS,
    usage: () => usage,
  });
  gc.start();
  const sandboxes = ['R1', 'R2', 'R3'].map((run) => sandbox(`E-${run}`, run));
  for (const path of sandboxes) {
    gc.retired(path);
    clock.advance(10 * DAY_MS);
    await settle();
  }
  // Now 30, 20 and 10 days old. At 20% used the max age is 70 days: nothing went.
  await settle();
  assert.ok(sandboxes.every((path) => existsSync(path)));
  usage = 0.75; // max age 15 days: at the next check (a day on) the two oldest go
  clock.advance(DAY_MS);
  await settle();
  assert.deepEqual(
    sandboxes.map((path) => existsSync(path)),
    [false, false, true],
  );
  usage = 0.95; // nothing may stay
  clock.advance(DAY_MS);
  await settle();
  assert.equal(existsSync(sandboxes[2] ?? ''), false);
});

test('gc schedules what a previous agent left from the sandboxes mtimes', async (t) => {
  const { gc, clock, sandbox, gcDelayMs } = bed(t);
  const longAgo = sandbox('E1', 'R1');
  const lately = sandbox('E2', 'R2');
  const live = sandbox('E3', 'R3');
  const seconds = (ms: number) => ms / 1000;
  utimesSync(longAgo, seconds(START_MS - gcDelayMs - 1), seconds(START_MS - gcDelayMs - 1));
  utimesSync(lately, seconds(START_MS - 1000), seconds(START_MS - 1000));
  await gc.recover(new Set([live]));
  assert.deepEqual(
    gc.pending.map((p) => p.path),
    [longAgo, lately],
  );
  clock.advance(0);
  await gc.idle();
  assert.equal(existsSync(longAgo), false, 'past its gc_delay already: removed at once');
  assert.ok(existsSync(lately));
  clock.advance(gcDelayMs - 1000);
  await gc.idle();
  assert.equal(existsSync(lately), false);
  assert.ok(existsSync(live), 'a live run is never scheduled');
});

test('gc never removes anything outside a sandbox, whatever links it meets', async (t) => {
  const { gc, clock, sandbox, slavesDir, outside, gcDelayMs } = bed(t);
  const withLinks = sandbox('E1', 'R1');
  symlinkSync(join(outside, 'precious'), join(withLinks, 'link-to-file'));
  symlinkSync(outside, join(withLinks, 'link-to-dir'));
  gc.retired(withLinks);
  // A run dir whose executor dir was swapped for a link to the outside.
  const swapped = join(slavesDir, 'S1', 'frameworks', 'F1', 'executors', 'E2');
  symlinkSync(outside, swapped);
  mkdirSync(join(outside, 'runs', 'R2'), { recursive: true });
  gc.retired(join(swapped, 'runs', 'R2'));
  clock.advance(gcDelayMs);
  await gc.idle();
  assert.equal(existsSync(withLinks), false, 'the sandbox went, its links unlinked');
  assert.equal(gc.metrics['gc/path_removals_failed'], 1, 'the swapped one was refused');
  assert.ok(existsSync(join(outside, 'precious')));
  assert.ok(existsSync(join(outside, 'runs', 'R2')));
  for (const path of [outside, join(slavesDir, 'S1'), slavesDir, join(slavesDir, '..', 'meta')])
    await assert.rejects(removeSandbox(slavesDir, path), /not a sandbox/, path);
  await assert.rejects(
    removeSandbox(
      slavesDir,
      join(slavesDir, 'S1', 'frameworks', 'F1', 'executors', 'E', 'runs', '..'),
    ),
    /not a sandbox/,
  );
});
