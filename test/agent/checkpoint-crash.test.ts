// The checkpoint as a SIGKILLed agent leaves it: a child process records launches as
// fast as it can and is killed mid-stride; every run it left must read whole.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Checkpoint } from '../../src/agent/checkpoint.js';

const CHECKPOINT = fileURLToPath(new URL('../../src/agent/checkpoint.ts', import.meta.url));

// Launches runs in a loop, printing once it has begun.
const LAUNCHER = `
const { Checkpoint } = await import(${JSON.stringify(CHECKPOINT)});
const checkpoint = new Checkpoint(process.argv[1]);
const framework = { user: 'u', name: 'f', id: { value: 'fw-1' } };
let n = 0;
for (;;) {
  const id = 't' + n++;
  checkpoint.launched(
    { agentIdValue: 'a-S0', frameworkIdValue: 'fw-1', executorIdValue: id, containerIdValue: 'c-' + id, taskIdValue: id },
    framework,
    { name: id, task_id: { value: id }, agent_id: { value: 'a-S0' }, command: { value: 'true' } },
  );
  if (n === 50) process.stdout.write('going\\n');
}
`;

test('a launch recorded by an agent killed at any instant leaves its run whole or absent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-checkpoint-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let runs = 0;
  for (let kill = 0; kill < 5; kill++) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', LAUNCHER, dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    await once(child.stdout, 'data');
    // A few milliseconds more of launches, then the kill lands wherever it lands.
    await new Promise((resolve) => setTimeout(resolve, 5 + kill * 7));
    child.kill('SIGKILL');
    await exited;
    const recorded = new Checkpoint(dir).runs();
    runs = recorded.length;
    for (const run of recorded) {
      assert.ok(run.task !== undefined, `run ${run.address.containerIdValue} has its TaskInfo`);
      assert.deepEqual(run.unreadable, [], run.address.containerIdValue);
    }
    rmSync(join(dir, 'meta'), { recursive: true, force: true });
  }
  assert.ok(runs > 50, `the launcher recorded ${runs} runs before its last kill`);
});
