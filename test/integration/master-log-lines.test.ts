// A master's log holds a line for every agent that re-registered, however it stops: its
// lines are held a few milliseconds and written together (runtime/held-log-destination.ts),
// and a stop writes what is held, on stdout and in --log_dir alike (#10).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { defer, ROOT, startDaemon, waitFor } from './harness.js';

const AGENTS = 300;

function masterArgs(workDir: string): string[] {
  return [
    'master',
    '--port',
    '0',
    '--work_dir',
    join(workDir, 'master'),
    '--log_dir',
    join(workDir, 'log'),
  ];
}

function linesSaying(lines: readonly Record<string, unknown>[], msg: string): Set<unknown> {
  return new Set(lines.filter((line) => line.msg === msg).map((line) => line.agent_id));
}

test('a master stopped as its agents re-register has logged every one of them', {
  timeout: 180_000,
}, async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-log-lines-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const first = await startDaemon('master', masterArgs(workDir));
  defer(t, () => first.stop());
  // Simulated agents in a process of their own: each registers, then follows the next master.
  const agents = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'master', 'storm-agents.ts'), first.url, String(AGENTS)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const agentsExited = once(agents, 'exit');
  defer(t, async () => {
    if (agents.exitCode === null && agents.signalCode === null) agents.kill('SIGKILL');
    await agentsExited;
  });
  const said: string[] = [];
  createInterface({ input: agents.stdout }).on('line', (line) => said.push(line));
  const heard = (line: string) =>
    waitFor(`the agents to say ${line}`, () => (said.includes(line) ? true : undefined), 120_000);
  await heard('subscribed');
  assert.equal(await first.stop(), 0);
  assert.equal(linesSaying(first.lines, 'agent registered').size, AGENTS);

  // The next master recovers them from the registry: each SUBSCRIBE is a re-registration.
  const second = await startDaemon('master', masterArgs(workDir));
  defer(t, () => second.stop());
  agents.stdin.write(`follow ${second.url} 200\n`);
  await heard('resubscribed');
  // Stopped at once: lines still held are written as it exits.
  assert.equal(await second.stop(), 0);
  const reregistered = linesSaying(second.lines, 'agent reregistered');
  assert.equal(reregistered.size, AGENTS);
  const inFile = readFileSync(join(workDir, 'log', 'agora-master.log'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(linesSaying(inFile, 'agent reregistered'), reregistered);
});
