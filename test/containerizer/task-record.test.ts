// A run's task.pid as the shim and the containerizer write it (shim.ts RUNTIME_FILES): the
// PID, the start time and the `exit` line, the last two in either order, and the files of
// older shims, which a restarted agent still reads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTaskRecord } from '../../src/containerizer/index.js';
import { readRecorded } from '../../src/containerizer/task-record.js';

test('parseTaskRecord reads the start time and the exit line in either order', () => {
  assert.deepEqual(parseTaskRecord('123\n456\nexit 0\n'), {
    pidText: '123',
    startText: '456',
    exitText: '0',
  });
  assert.deepEqual(parseTaskRecord('123\nexit 143\n456\n'), {
    pidText: '123',
    startText: '456',
    exitText: '143',
  });
  assert.deepEqual(parseTaskRecord('123\n'), {
    pidText: '123',
    startText: undefined,
    exitText: undefined,
  });
});

test('parseTaskRecord reads a claim alone, and a shim that never started its task', () => {
  assert.deepEqual(parseTaskRecord(''), {
    pidText: '',
    startText: undefined,
    exitText: undefined,
  });
  assert.deepEqual(parseTaskRecord('exit 125\n'), {
    pidText: '',
    startText: undefined,
    exitText: '125',
  });
});

test('readRecorded takes the exit line, else an older shim’s exit_status, else nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-task-record-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(readRecorded(dir), undefined);
  writeFileSync(join(dir, 'task.pid'), '123\n456\n');
  assert.equal(readRecorded(dir), undefined);
  writeFileSync(join(dir, 'exit_status'), '3\n');
  assert.deepEqual(readRecorded(dir), { exitCode: 3, signal: null });
  writeFileSync(join(dir, 'task.pid'), '123\nexit 137\n456\n');
  assert.deepEqual(readRecorded(dir), { exitCode: null, signal: 'SIGKILL' });
});
