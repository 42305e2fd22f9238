// The records of nested containers that ended are kept as long as their end is remembered
// (the last 256): a restarted agent reading a task's run directory finds no more than that.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerSessions } from '../../src/agent/sessions.js';
import type { TaskRun } from '../../src/agent/task-runs.js';

test('records of ended nested containers beyond those remembered are removed at recovery', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'agora-nested-bound-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  for (let i = 0; i < 300; i++) {
    const dir = join(runDir, 'containers', `s-${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config'), '{"kind":"session"}');
    writeFileSync(join(dir, 'termination'), '{"exitCode":0,"signal":null}');
  }
  const run = { containerIdValue: 'parent', state: 'TASK_RUNNING' } as unknown as TaskRun;
  const sessions = new ContainerSessions({
    containerizer: undefined as never,
    files: undefined as never,
    taskByContainer: () => undefined,
    environmentOf: () => ({}),
    runDirOf: () => runDir,
  });
  sessions.recover([run]);
  const kept = readdirSync(join(runDir, 'containers'));
  assert.equal(kept.length, 256);
  // What is kept on disk is what WAIT_CONTAINER still answers for.
  for (const name of kept) {
    const waited = await sessions.wait({ value: name, parent: { value: 'parent' } });
    assert.equal(waited.exit_status, 0);
  }
});
