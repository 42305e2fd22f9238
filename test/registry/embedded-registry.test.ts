import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  EMPTY_REGISTRY_STATE,
  EmbeddedRegistry,
  RegistryClosedError,
  RegistryCorruptError,
  RegistryLockedError,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { encodeRecord, RECORD_HEADER_BYTES } from '../../src/registry/log-format.js';
import { agentId } from '../../src/wire/index.js';
import {
  activeResources,
  agent,
  applyAll,
  crashImage,
  deadPid,
  embedded,
  fold,
  openFilesUnder,
  operations,
  sortedFiles,
  teardown,
  tempDir,
  writeLog,
  writeSnapshot,
} from './fixtures.js';

test('embedded registry recovers after close the state it had', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const ops = operations(12);
  const first = embedded(defer, dir);
  assert.deepEqual(await first.recover(), EMPTY_REGISTRY_STATE);
  const last = await applyAll(first, ops);
  await first.close();

  const second = embedded(defer, dir);
  const recovered = await second.recover();
  assert.deepEqual(recovered, last);
  assert.deepEqual(recovered, fold(ops));
  assert.deepEqual(second.recoveryReport, {
    snapshotGeneration: undefined,
    recordsReplayed: 12,
    tornTail: undefined,
    removedFiles: [],
  });
});

test('embedded registry recovers operations spanning several compactions', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const ops = operations(23);
  const first = embedded(defer, dir, 5);
  await first.recover();
  await applyAll(first, ops);
  await first.close();
  // 23 operations, a compaction every 5: snapshot 4 holds 20, log.4 the last 3.
  assert.deepEqual(sortedFiles(dir), ['log.4', 'snapshot.json']);

  const second = embedded(defer, dir, 5);
  assert.deepEqual(await second.recover(), fold(ops));
  assert.equal(second.recoveryReport?.snapshotGeneration, 4);
  assert.equal(second.recoveryReport?.recordsReplayed, 3);

  // The replayed records count towards the next compaction, and history goes on.
  const more = operations(30).slice(23);
  await applyAll(second, more);
  await second.close();
  assert.deepEqual(sortedFiles(dir), ['log.6', 'snapshot.json']);
  const third = embedded(defer, dir);
  assert.deepEqual(await third.recover(), fold([...ops, ...more]));
});

test('embedded registry keeps every acknowledged operation through a crash after any of them', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const ops = operations(23);
  const live = embedded(defer, dir, 5);
  await live.recover();
  for (let i = 0; i < ops.length; i += 1) {
    const op = ops[i];
    assert.ok(op !== undefined);
    await live.apply(op);
    const image = crashImage(defer, dir);
    const recovered = embedded(defer, image, 5);
    assert.deepEqual(await recovered.recover(), fold(ops.slice(0, i + 1)), `crash after op ${i}`);
    await recovered.close();
  }
});

const tailDamage: readonly {
  readonly name: string;
  readonly damage: (log: string) => void;
  /** How many of the 6 operations survive. */
  readonly kept: number;
}[] = [
  {
    name: 'appended garbage',
    damage: (log) => appendFileSync(log, 'garbage after the last record'),
    kept: 6,
  },
  {
    name: 'a zero-filled tail',
    damage: (log) => appendFileSync(log, Buffer.alloc(4096)),
    kept: 6,
  },
  {
    name: 'a header without its payload',
    damage: (log) => appendFileSync(log, encodeRecord(Buffer.from('{}')).subarray(0, 8)),
    kept: 6,
  },
  {
    name: 'a last record cut short by 3 bytes',
    damage: (log) => truncateSync(log, statSync(log).size - 3),
    kept: 5,
  },
  {
    name: 'a flipped byte in the last record',
    damage: (log) => {
      const bytes = readFileSync(log);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 2) ^ 0xff, bytes.length - 2);
      writeFileSync(log, bytes);
    },
    kept: 5,
  },
];

for (const { name, damage, kept } of tailDamage) {
  test(`embedded registry drops a torn tail (${name}) and recovers the rest`, async (t) => {
    const defer = teardown(t);
    const dir = tempDir(defer);
    const ops = operations(6);
    const first = embedded(defer, dir);
    await first.recover();
    await applyAll(first, ops);
    await first.close();
    const log = join(dir, 'log.0');
    const intactBytes = statSync(log).size;
    damage(log);
    const damagedBytes = statSync(log).size;

    const second = embedded(defer, dir);
    assert.deepEqual(await second.recover(), fold(ops.slice(0, kept)));
    const torn = second.recoveryReport?.tornTail;
    assert.ok(torn !== undefined, 'the torn tail is reported');
    assert.equal(torn.file, log);
    assert.equal(torn.offset + torn.droppedBytes, damagedBytes);
    assert.equal(statSync(log).size, torn.offset, 'the log is cut where the torn record began');
    if (kept === ops.length) assert.equal(torn.offset, intactBytes);

    // New records land where the torn one was, so the next recovery reads them.
    const extra: RegistryOperation = { kind: 'admitAgent', agent: agent('late') };
    await second.apply(extra);
    await second.close();
    const third = embedded(defer, dir);
    assert.deepEqual(await third.recover(), fold([...ops.slice(0, kept), extra]));
    assert.equal(third.recoveryReport?.tornTail, undefined);
  });
}

test('embedded registry refuses a corrupted record that valid records follow', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const first = embedded(defer, dir);
  await first.recover();
  await applyAll(first, operations(6));
  await first.close();
  const log = join(dir, 'log.0');
  const bytes = readFileSync(log);
  const second = RECORD_HEADER_BYTES + bytes.readUInt32BE(0);
  const inSecondPayload = second + RECORD_HEADER_BYTES + 3;
  bytes.writeUInt8(bytes.readUInt8(inSecondPayload) ^ 0x01, inSecondPayload);
  writeFileSync(log, bytes);

  const before = openFilesUnder(dir);
  const registry = embedded(defer, dir);
  await assert.rejects(registry.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryCorruptError);
    assert.equal(error.file, log);
    assert.equal(error.offset, second);
    assert.equal(error.code, 'UNAVAILABLE');
    return true;
  });
  assert.equal(existsSync(join(dir, 'lock')), false, 'a failed recovery releases the lock');
  assert.deepEqual(openFilesUnder(dir), before, 'a failed recovery closes what it opened');
  assert.equal(statSync(log).size, bytes.length, 'a corrupt log is left as it was');
});

test('embedded registry refuses a record that passes its CRC but is not an operation', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  writeLog(join(dir, 'log.0'), operations(2));
  appendFileSync(join(dir, 'log.0'), encodeRecord(Buffer.from('{"kind":"launchMissiles"}')));
  const registry = embedded(defer, dir);
  await assert.rejects(registry.recover(), RegistryCorruptError);
});

test('embedded registry refuses a snapshot that does not parse', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  writeFileSync(join(dir, 'snapshot.json'), '{"format":1,"generation":');
  const registry = embedded(defer, dir);
  await assert.rejects(registry.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryCorruptError);
    assert.equal(error.file, join(dir, 'snapshot.json'));
    return true;
  });
});

test('embedded registry recovers from a crash before a compaction installed its snapshot', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const ops = operations(7);
  writeSnapshot(join(dir, 'snapshot.json'), 3, fold(ops.slice(0, 4)));
  writeLog(join(dir, 'log.3'), ops.slice(4));
  writeFileSync(join(dir, 'log.4'), ''); // created empty in step 1
  writeFileSync(join(dir, 'snapshot.json.tmp'), '{"format":1,"gener'); // step 2, cut short
  const registry = embedded(defer, dir);
  assert.deepEqual(await registry.recover(), fold(ops));
  assert.deepEqual(registry.recoveryReport?.removedFiles.slice().sort(), [
    'log.4',
    'snapshot.json.tmp',
  ]);
  assert.deepEqual(sortedFiles(dir), ['lock', 'log.3', 'snapshot.json']);
});

test('embedded registry recovers from a crash after a compaction installed its snapshot', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const ops = operations(7);
  writeSnapshot(join(dir, 'snapshot.json'), 4, fold(ops));
  writeLog(join(dir, 'log.3'), ops.slice(4)); // old log, not yet deleted
  writeFileSync(join(dir, 'log.4'), '');
  const registry = embedded(defer, dir);
  assert.deepEqual(await registry.recover(), fold(ops));
  assert.equal(registry.recoveryReport?.recordsReplayed, 0, 'the old log is not replayed');
  assert.deepEqual(registry.recoveryReport?.removedFiles, ['log.3']);
  assert.deepEqual(sortedFiles(dir), ['lock', 'log.4', 'snapshot.json']);
});

test('embedded registry refuses a log that is newer than the snapshot and has records', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  writeLog(join(dir, 'log.0'), operations(2));
  writeLog(join(dir, 'log.1'), operations(3).slice(2)); // snapshot 1 is missing
  const registry = embedded(defer, dir);
  await assert.rejects(registry.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryCorruptError);
    assert.equal(error.file, join(dir, 'log.1'));
    return true;
  });
});

test('embedded registry applies concurrent calls in call order', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const registry = embedded(defer, dir, 4);
  await registry.recover();
  const ops = operations(40);
  const settled: number[] = [];
  const results = await Promise.all(
    ops.map((op, i) =>
      registry.apply(op).then((state) => {
        settled.push(i);
        return state;
      }),
    ),
  );
  assert.deepEqual(
    settled,
    ops.map((_, i) => i),
  );
  results.forEach((state, i) => {
    assert.deepEqual(state, fold(ops.slice(0, i + 1)), `state after op ${i}`);
  });
  await registry.close();
  const again = embedded(defer, dir);
  assert.deepEqual(await again.recover(), fold(ops));
});

test('embedded registry refuses a malformed operation without writing it', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const registry = embedded(defer, dir);
  await registry.recover();
  const good = operations(2);
  await registry.apply(good[0] ?? assert.fail());
  await assert.rejects(
    registry.apply({ kind: 'admitAgent', agent: { hostname: 'no-id' } }),
    assert.AssertionError,
  );
  const notFinite = { ...agent('nan'), port: Number.NaN };
  await assert.rejects(
    registry.apply({ kind: 'admitAgent', agent: notFinite }),
    assert.AssertionError,
  );
  assert.deepEqual(await registry.apply(good[1] ?? assert.fail()), fold(good));
  await registry.close();
  const again = embedded(defer, dir);
  assert.deepEqual(await again.recover(), fold(good));
});

test('embedded registry refuses apply before recover and after close', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const registry = embedded(defer, dir);
  const op: RegistryOperation = { kind: 'removeAgent', agentId: agentId('a0') };
  await assert.rejects(registry.apply(op), assert.AssertionError);
  await registry.recover();
  await registry.close();
  await assert.rejects(registry.apply(op), RegistryClosedError);
});

test('embedded registry close waits for in-flight applies and is idempotent', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const registry = embedded(defer, dir, 3);
  await registry.recover();
  const ops = operations(10);
  const applied = ops.map((op) => registry.apply(op));
  let isDone = false;
  const all = Promise.all(applied).then((states) => {
    isDone = true;
    return states;
  });
  const closing = registry.close();
  assert.equal(registry.close(), closing, 'a second close() returns the same promise');
  await closing;
  // close() resolved after the apply chain; `all` needs one more turn to see it.
  const states = await all;
  assert.ok(isDone);
  assert.deepEqual(states.at(-1), fold(ops));
  const again = embedded(defer, dir);
  assert.deepEqual(await again.recover(), fold(ops));
});

test('embedded registry refuses a second registry on a directory in use', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const first = embedded(defer, dir);
  await first.recover();
  const second = embedded(defer, dir);
  await assert.rejects(second.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryLockedError);
    assert.equal(error.holderPid, process.pid);
    assert.equal(error.lockFile, join(dir, 'lock'));
    return true;
  });
  assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), `${process.pid}\n`, 'lock left alone');
  await second.close();
  await first.apply({ kind: 'admitAgent', agent: agent('a1') });
  await first.close();

  const third = embedded(defer, dir);
  assert.equal((await third.recover()).agents.size, 1);
});

const staleLocks: readonly { readonly name: string; readonly content: () => string }[] = [
  { name: 'the pid of a dead process', content: () => `${deadPid()}\n` },
  { name: 'no pid (its holder died before writing one)', content: () => '' },
];

for (const { name, content } of staleLocks) {
  test(`embedded registry takes over a lock holding ${name}`, async (t) => {
    const defer = teardown(t);
    const dir = tempDir(defer);
    writeFileSync(join(dir, 'lock'), content());
    const registry = embedded(defer, dir);
    await registry.recover();
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), `${process.pid}\n`);
  });
}

test('embedded registry close leaves no open handles and removes the lock', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const before = activeResources();
  const registry = embedded(defer, dir, 5);
  await registry.recover();
  await applyAll(registry, operations(12));
  assert.notDeepEqual(openFilesUnder(dir), [], 'the open registry holds its log');
  await registry.close();
  assert.deepEqual(openFilesUnder(dir), []);
  assert.deepEqual(activeResources(), before);
  assert.equal(existsSync(join(dir, 'lock')), false);
});

test('embedded registry creates its directory with missing parents', async (t) => {
  const defer = teardown(t);
  const dir = join(tempDir(defer), 'a', 'b', 'registry');
  const registry = embedded(defer, dir);
  assert.deepEqual(await registry.recover(), EMPTY_REGISTRY_STATE);
  assert.deepEqual(sortedFiles(dir), ['lock', 'log.0']);
});

test('embedded registry writes equal snapshots for equal states', async (t) => {
  const defer = teardown(t);
  const snapshots: string[] = [];
  const admit = (id: string): RegistryOperation => ({ kind: 'admitAgent', agent: agent(id) });
  const weights = (role: string): RegistryOperation => ({
    kind: 'updateWeights',
    weights: [{ role, weight: 2 }],
  });
  // Same state, reached in different orders.
  for (const ops of [
    [admit('x'), admit('y'), weights('b'), weights('a')],
    [weights('a'), admit('y'), weights('b'), admit('x')],
  ]) {
    const dir = tempDir(defer);
    mkdirSync(dir, { recursive: true });
    const registry = embedded(defer, dir, ops.length);
    await registry.recover();
    const state: RegistryState | undefined = await applyAll(registry, ops);
    assert.ok(state !== undefined);
    await registry.close();
    snapshots.push(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
  }
  assert.equal(snapshots[0], snapshots[1]);
});

test('embedded registry rejects a compaction interval that is not a positive integer', () => {
  assert.throws(
    () => new EmbeddedRegistry({ directory: '/nonexistent', compactEveryOps: 0 }),
    assert.AssertionError,
  );
});

test('embedded registry cut at any byte recovers every whole record before the cut', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const ops = operations(12);
  const first = embedded(defer, dir, 1000);
  await first.recover();
  await applyAll(first, ops);
  await first.close();
  const log = join(dir, 'log.0');
  const bytes = readFileSync(log);
  // Where each record ends, so the whole ones before a cut are known.
  const ends: number[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    offset += RECORD_HEADER_BYTES + length;
    ends.push(offset);
  }
  assert.equal(ends.length, ops.length, 'one record per operation');
  assert.equal(ends.at(-1), bytes.length);
  for (let cut = 0; cut <= bytes.length; cut += 7) {
    const image = tempDir(defer);
    writeFileSync(join(image, 'log.0'), bytes.subarray(0, cut));
    const whole = ends.filter((end) => end <= cut).length;
    const registry = embedded(defer, image, 1000);
    assert.deepEqual(await registry.recover(), fold(ops.slice(0, whole)), `cut at byte ${cut}`);
    await registry.close();
  }
});

test('embedded registry reads a format-1 snapshot (before frameworks were kept) as one with none', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  writeFileSync(
    join(dir, 'snapshot.json'),
    JSON.stringify({
      format: 1,
      generation: 0,
      state: { agents: [agent('a1')], weights: [{ role: 'dev', weight: 2 }], quotas: [] },
    }),
  );
  writeFileSync(join(dir, 'log.0'), '');
  const registry = embedded(defer, dir);
  const state = await registry.recover();
  assert.deepEqual([...state.agents.keys()], ['a1']);
  assert.equal(state.weights.get('dev'), 2);
  assert.equal(state.frameworks.size, 0);
  assert.deepEqual(state.removedFrameworks, []);
});

test('embedded registry keeps maintenance, drains and deactivations through the log and a snapshot', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const machine = { hostname: 'm1.example', ip: '10.0.0.1' };
  const ops: RegistryOperation[] = [
    { kind: 'admitAgent', agent: agent('a1') },
    { kind: 'admitAgent', agent: agent('a2') },
    { kind: 'deactivateAgent', agentId: agentId('a1') },
    { kind: 'drainAgent', agentId: agentId('a2'), config: { mark_gone: true } },
    { kind: 'markAgentDrained', agentId: agentId('a2') },
    {
      kind: 'updateMaintenanceSchedule',
      schedule: {
        windows: [
          {
            machine_ids: [machine],
            unavailability: {
              start: { nanoseconds: 1_443_830_400_000_000_000 },
              duration: { nanoseconds: 3_600_000_000_000 },
            },
          },
        ],
      },
    },
    { kind: 'startMaintenance', machines: [machine] },
  ];
  const expected = fold(ops);
  const first = embedded(defer, dir, 4);
  await first.recover();
  await applyAll(first, ops);
  await first.close();
  const second = embedded(defer, dir);
  assert.deepEqual(await second.recover(), expected);
});

test('embedded registry reads a format-2 snapshot as one with no maintenance and no drains', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  writeFileSync(
    join(dir, 'snapshot.json'),
    JSON.stringify({
      format: 2,
      generation: 0,
      state: { agents: [agent('a1')], weights: [], quotas: [], gone_agents: ['g1'] },
    }),
  );
  writeFileSync(join(dir, 'log.0'), '');
  const state = await embedded(defer, dir).recover();
  assert.deepEqual([...state.goneAgents], ['g1']);
  assert.equal(state.deactivatedAgents.size, 0);
  assert.equal(state.drainingAgents.size, 0);
  assert.deepEqual(state.schedule, {});
  assert.deepEqual(state.downMachines, []);
});
