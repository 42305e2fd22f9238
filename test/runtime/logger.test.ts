// A daemon's log lines: every one written, in order, however the process ends, and lines
// logged in many loop rounds written together rather than one write(2) each (#10).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./logger-child.ts', import.meta.url));
const LINES = 500;

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: Record<string, unknown>[];
  /** write(2)s on stdout, as the child counted them (none when it was killed). */
  readonly writes: number | undefined;
}

async function runChild(how: string, file?: string): Promise<Ended> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, String(LINES), how, ...(file === undefined ? [] : [file])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  const lines = out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const counted = /writes (\d+)/.exec(err);
  return { code, signal, lines, writes: counted === null ? undefined : Number(counted[1]) };
}

function assertEveryLine(lines: readonly Record<string, unknown>[]): void {
  const agents = lines.filter((line) => line.msg === 'agent reregistered');
  assert.equal(agents.length, LINES);
  agents.forEach((line, i) => {
    assert.equal(line.agent_id, `agent-${i}`, 'in order');
  });
}

test('logger writes the lines of many loop rounds together, every one of them', async () => {
  const ended = await runChild('end');
  assert.equal(ended.code, 0);
  assertEveryLine(ended.lines);
  // One line per round, a round a few microseconds: held for a few milliseconds, they go out
  // in a handful of writes (one write per line before).
  assert.ok(ended.writes !== undefined && ended.writes < LINES / 10, `${ended.writes} writes`);
});

test('logger writes every held line when the process exits or crashes', async () => {
  const exited = await runChild('exit');
  assert.equal(exited.code, 3);
  assertEveryLine(exited.lines);
  const crashed = await runChild('throw');
  assert.equal(crashed.code, 1);
  assertEveryLine(crashed.lines);
});

test('logger writes an error at once, with every line held before it', async () => {
  const killed = await runChild('error-then-exit');
  assert.equal(killed.signal, 'SIGKILL');
  assertEveryLine(killed.lines);
  assert.equal(killed.lines.at(-1)?.msg, 'about to stop');
});

test('logger holds and writes the lines of its file as those of stdout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-logger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agora-master.log');
  const crashed = await runChild('throw', file);
  assert.equal(crashed.code, 1);
  assertEveryLine(crashed.lines);
  const inFile = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assertEveryLine(inFile);
});
