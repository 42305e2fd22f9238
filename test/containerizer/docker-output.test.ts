import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  copyOutput,
  OUTPUT_COUNTS_FILE,
  readOutputCounts,
} from '../../src/containerizer/docker-output.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function dir(t: { after(fn: () => void): void }): string {
  const path = mkdtempSync(join(tmpdir(), 'agora-output-'));
  t.after(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

const wire = () =>
  Readable.from([Buffer.concat([frame(1, 'one\n'), frame(2, 'oops\n')]), frame(1, 'two\n')]);

test('docker output lands in the sandbox files and its counts in the run directory', async (t) => {
  const sandbox = dir(t);
  const counts = await copyOutput(wire(), {
    sandbox,
    runtimeDir: sandbox,
    isTty: false,
    skip: { stdout: 0, stderr: 0 },
  });
  assert.deepEqual(counts, { stdout: 8, stderr: 5 });
  assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'one\ntwo\n');
  assert.equal(readFileSync(join(sandbox, 'stderr'), 'utf8'), 'oops\n');
  assert.deepEqual(readOutputCounts(sandbox), { stdout: 8, stderr: 5 });
});

test('docker output read again after a restart adds only what was not copied', async (t) => {
  const sandbox = dir(t);
  // The earlier life copied 'one\n' and 'oo' of stderr, and a check wrote to stderr too.
  writeFileSync(join(sandbox, 'stdout'), 'one\n');
  writeFileSync(join(sandbox, 'stderr'), 'oo[check]\n');
  writeFileSync(join(sandbox, OUTPUT_COUNTS_FILE), JSON.stringify({ stdout: 4, stderr: 2 }));
  const counts = await copyOutput(wire(), {
    sandbox,
    runtimeDir: sandbox,
    isTty: false,
    skip: readOutputCounts(sandbox),
  });
  assert.deepEqual(counts, { stdout: 8, stderr: 5 });
  assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'one\ntwo\n');
  assert.equal(readFileSync(join(sandbox, 'stderr'), 'utf8'), 'oo[check]\nps\n');
});

test("docker output of a TTY is one raw stream, all of it stdout's", async (t) => {
  const sandbox = dir(t);
  await copyOutput(Readable.from([Buffer.from('\u0001raw, no frames\r\n')]), {
    sandbox,
    runtimeDir: sandbox,
    isTty: true,
    skip: { stdout: 0, stderr: 0 },
  });
  assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), '\u0001raw, no frames\r\n');
});

test('docker output counts unreadable or missing are zeros: output repeats, none is lost', (t) => {
  const runtimeDir = dir(t);
  assert.deepEqual(readOutputCounts(runtimeDir), { stdout: 0, stderr: 0 });
  writeFileSync(join(runtimeDir, OUTPUT_COUNTS_FILE), '{"stdout": 12, "std');
  assert.deepEqual(readOutputCounts(runtimeDir), { stdout: 0, stderr: 0 });
  writeFileSync(join(runtimeDir, OUTPUT_COUNTS_FILE), '{"stdout": -3, "stderr": 1.5}');
  assert.deepEqual(readOutputCounts(runtimeDir), { stdout: 0, stderr: 0 });
});
