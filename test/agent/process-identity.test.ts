import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  environHas,
  parseStat,
  processesWithEnvironment,
  readBootId,
  readStat,
} from '../../src/agent/process-identity.js';

test('parseStat reads pid, parent, group and start time, whatever the command name holds', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[1] = '4241'; // field 4, the parent
  fields[2] = '4242'; // field 5, the process group
  fields[19] = '987654321'; // field 22, the start time
  const line = `4243 (a) b (c)) ${fields.join(' ')}\n`;
  assert.deepEqual(parseStat(line), {
    pid: 4243,
    ppid: 4241,
    pgid: 4242,
    startTime: '987654321',
    isZombie: false,
  });
  fields[0] = 'Z';
  assert.equal(parseStat(`7 (z) ${fields.join(' ')}`)?.isZombie, true);
});

test('parseStat refuses what is not a stat line', () => {
  for (const text of ['', 'nonsense', '12 (x) S 1', '(x) S 1 2 3'])
    assert.equal(parseStat(text), undefined, JSON.stringify(text));
});

test('readStat of this process agrees with /proc/self/stat, and is stable', () => {
  const stat = readStat(process.pid);
  assert.equal(stat?.pid, process.pid);
  const own = readFileSync('/proc/self/stat', 'utf8');
  assert.equal(stat?.startTime, own.slice(own.lastIndexOf(')') + 2).split(' ')[19]);
  assert.deepEqual(readStat(process.pid), stat);
});

test('readStat tells a later process apart from an earlier one', async (t) => {
  const first = spawn('sleep', ['1000']);
  t.after(() => first.kill('SIGKILL'));
  await once(first, 'spawn');
  const firstPid = first.pid ?? -1;
  const before = readStat(firstPid);
  assert.ok(before !== undefined);
  first.kill('SIGKILL');
  await once(first, 'exit');
  assert.equal(readStat(firstPid), undefined, 'a dead process has no stat');
});

test('readBootId names this boot', () => {
  assert.match(readBootId() ?? '', /^[0-9a-f-]{36}$/);
});

test('environHas matches whole entries only', () => {
  const environ = Buffer.from('A=1\0MESOS_SANDBOX=/x/y\0XMESOS_SANDBOX=/z\0');
  assert.equal(environHas(environ, 'MESOS_SANDBOX=/x/y'), true);
  assert.equal(environHas(environ, 'A=1'), true);
  assert.equal(environHas(environ, 'MESOS_SANDBOX=/x'), false, 'not a prefix of a value');
  assert.equal(environHas(environ, 'MESOS_SANDBOX=/z'), false, 'not a suffix of a name');
  assert.equal(environHas(Buffer.alloc(0), 'A=1'), false);
});

test('processesWithEnvironment finds the live processes that carry an entry', async (t) => {
  const marker = `AGORA_TEST_MARKER=${process.pid}-${Date.now()}`;
  const [name, value] = marker.split('=') as [string, string];
  const child = spawn('sleep', ['1000'], { env: { ...process.env, [name]: value } });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  const found = processesWithEnvironment([marker, 'AGORA_TEST_MARKER=nobody']);
  assert.deepEqual(found.get(marker), [child.pid]);
  assert.equal(found.has('AGORA_TEST_MARKER=nobody'), false);
});
