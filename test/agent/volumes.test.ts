import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkVolumes, persistentVolumes, syncVolumes } from '../../src/agent/volumes.js';
import type { Resource } from '../../src/wire/index.js';

const volume = (id: string, role = 'eng'): Resource => ({
  name: 'disk',
  type: 'SCALAR',
  scalar: { value: 10 },
  reservations: [{ type: 'STATIC', role }],
  disk: { persistence: { id }, volume: { container_path: 'data', mode: 'RW' } },
});

function workDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'agora-volumes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('volumes sync makes listed volumes and removes the data of destroyed ones', (t) => {
  const dir = workDir(t);
  syncVolumes(dir, [], [volume('a'), volume('b', 'ops')]);
  const a = join(dir, 'volumes', 'roles', 'eng', 'a');
  const b = join(dir, 'volumes', 'roles', 'ops', 'b');
  assert.ok(existsSync(a) && existsSync(b));
  writeFileSync(join(a, 'file'), 'data');
  const removed = syncVolumes(dir, [volume('a'), volume('b', 'ops')], [volume('a')]);
  assert.deepEqual(removed, [b]);
  assert.ok(existsSync(join(a, 'file')), 'a kept volume keeps its data');
  assert.ok(!existsSync(b));
});

test("a task's volumes are made and linked into a command task's sandbox", (t) => {
  const dir = workDir(t);
  const sandbox = join(dir, 'sandbox');
  mkdirSync(sandbox);
  const mounts = persistentVolumes(dir, [volume('a')]);
  assert.deepEqual(mounts, [
    { hostPath: join(dir, 'volumes', 'roles', 'eng', 'a'), containerPath: 'data', mode: 'RW' },
  ]);
  linkVolumes(sandbox, mounts);
  assert.equal(readlinkSync(join(sandbox, 'data')), mounts[0]?.hostPath);
  assert.throws(
    () => linkVolumes(sandbox, [{ hostPath: '/x', containerPath: '/abs', mode: 'RW' }]),
    /is absolute/,
  );
  assert.throws(
    () => linkVolumes(sandbox, [{ hostPath: '/x', containerPath: '../out', mode: 'RW' }]),
    /escapes the sandbox/,
  );
});
