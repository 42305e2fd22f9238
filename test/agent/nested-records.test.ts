// The records a nested container leaves for the next agent: what a torn or foreign file
// reads as, so recovery never takes garbage for a PID to signal.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseNestedStatus, readNestedRecords } from '../../src/agent/nested-records.js';

test('the keeper status: the PID line, then the exit line; anything else reads as unknown', () => {
  assert.deepEqual(parseNestedStatus(''), { pid: undefined, exit: undefined });
  assert.deepEqual(parseNestedStatus('123\n'), { pid: 123, exit: undefined });
  assert.deepEqual(parseNestedStatus('123\nexit 7\n'), { pid: 123, exit: '7' });
  assert.deepEqual(parseNestedStatus('12x\nexit 1234\n'), { pid: undefined, exit: undefined });
  // A command that could not start: its shell wrote no PID.
  assert.deepEqual(parseNestedStatus('exit 127\n'), { pid: undefined, exit: '127' });
});

test('records without a readable config are skipped; bad pids and terminations read as none', (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'agora-nested-records-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  const make = (id: string, files: Record<string, string>) => {
    mkdirSync(join(runDir, 'containers', id), { recursive: true });
    for (const [name, text] of Object.entries(files))
      writeFileSync(join(runDir, 'containers', id, name), text);
  };
  make('torn', { config: '{"kind":"deta' });
  make('alien', { config: '{"kind":"vm"}' });
  make('bad', {
    config: '{"kind":"detached","taskSandbox":"/x"}',
    pids: '{"keeper":{"pid":-1,"startTime":"5"}}',
    termination: '{"exitCode":"3","signal":null}',
  });
  make('good', {
    config: '{"kind":"session"}',
    pids: '{"command":{"pid":42,"startTime":"99"}}',
    status: '42\nexit 0\n',
    termination: '{"exitCode":0,"signal":null}',
  });
  const records = readNestedRecords(runDir).sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(
    records.map((r) => [r.id, r.config.kind, r.pids, r.termination]),
    [
      ['bad', 'detached', {}, undefined],
      ['good', 'session', { command: { pid: 42, startTime: '99' } }, { exitCode: 0, signal: null }],
    ],
  );
  assert.deepEqual(readNestedRecords(join(runDir, 'missing')), []);
});
