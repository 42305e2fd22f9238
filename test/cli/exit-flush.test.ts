// `agora run` exits as soon as its status is known (exitAsSoonAsDone), and still hands a slow
// reader of its stdout every byte: writes to a pipe are asynchronous in node.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { defer } from '../integration/harness.js';

const DISPATCH = resolve(import.meta.dirname, '../../src/cli/dispatch.ts');

test('a process that exits as soon as done still hands a slow pipe reader all of its output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-exit-flush-'));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'child.ts');
  // 3 MB, far more than a pipe holds: most of it waits in the process when it is done.
  writeFileSync(
    script,
    `import { exitAsSoonAsDone } from ${JSON.stringify(DISPATCH)};
const line = 'x'.repeat(999) + '\\n';
for (let i = 0; i < 3000; i++) process.stdout.write(line);
process.stderr.write('done\\n');
exitAsSoonAsDone(Promise.resolve(3));
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  defer(t, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stdout = child.stdout;
  const stderr = child.stderr;
  assert.ok(stdout !== null && stderr !== null);
  // Nothing is read until the child has written everything and asked to exit.
  stdout.pause();
  const exited = once(child, 'exit');
  for await (const line of createInterface({ input: stderr })) if (line === 'done') break;
  let bytes = 0;
  stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  stdout.resume();
  const [code] = await exited;
  if (!stdout.readableEnded) await once(stdout, 'end');
  assert.equal(code, 3);
  assert.equal(bytes, 3000 * 1000);
});
