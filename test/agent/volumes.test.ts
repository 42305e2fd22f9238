import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  containerVolumes,
  linkVolumes,
  persistentVolumes,
  syncVolumes,
} from '../../src/agent/volumes.js';
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

test("a MESOS container's own volumes: host paths need bind mounts, sandbox paths are made in their sandbox", (t) => {
  const dir = workDir(t);
  const sandbox = join(dir, 'executor', 'containers', 'task');
  const parentSandbox = join(dir, 'executor');
  mkdirSync(sandbox, { recursive: true });
  const mesos = (volumes: unknown[]) => ({ type: 'MESOS', volumes });
  const where = { sandbox, parentSandbox };
  const selfVolume = {
    container_path: 'scratch',
    source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'kept/data' } },
    mode: 'RW',
  };
  const parentVolume = {
    container_path: 'shared',
    source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'PARENT', path: 'pod' } },
    mode: 'RO',
  };
  const mounts = containerVolumes(
    mesos([selfVolume, parentVolume, { container_path: 'legacy', host_path: 'rel', mode: 'RW' }]),
    where,
    false,
  );
  assert.deepEqual(mounts, [
    // Each names its sandbox: the mount walks the path from there (image-runtime.ts).
    {
      hostPath: join(sandbox, 'kept', 'data'),
      sandboxBase: sandbox,
      containerPath: 'scratch',
      mode: 'RW',
    },
    {
      hostPath: join(parentSandbox, 'pod'),
      sandboxBase: parentSandbox,
      containerPath: 'shared',
      mode: 'RO',
    },
    { hostPath: join(sandbox, 'rel'), sandboxBase: sandbox, containerPath: 'legacy', mode: 'RW' },
  ]);
  for (const mount of mounts) assert.ok(existsSync(mount.hostPath), mount.hostPath);
  // Made for the task's user, as its sandbox is: 'kept' and 'kept/data' are theirs.
  if (process.getuid?.() === 0) {
    const owner = { uid: 65_534, gid: 65_534 };
    const [mine] = containerVolumes(
      mesos([
        {
          ...selfVolume,
          source: { ...selfVolume.source, sandbox_path: { type: 'SELF', path: 'own/data' } },
        },
      ]),
      where,
      false,
      owner,
    );
    assert.equal(statSync(join(sandbox, 'own')).uid, owner.uid);
    assert.equal(statSync(mine?.hostPath ?? '').uid, owner.uid);
    assert.equal(statSync(sandbox).uid, 0, 'what was there already is left as it was');
  }
  // A host path is bind mounted or refused: a link would give a read-only volume writably.
  const host = { container_path: 'etc', host_path: dir, mode: 'RO' };
  assert.throws(() => containerVolumes(mesos([host]), where, false), /filesystem\/linux/);
  assert.deepEqual(containerVolumes(mesos([host]), where, true), [
    { hostPath: dir, containerPath: 'etc', mode: 'RO' },
  ]);
  assert.throws(
    () => containerVolumes(mesos([{ ...host, host_path: join(dir, 'none') }]), where, true),
    /does not exist/,
  );
  assert.throws(
    () => containerVolumes(mesos([parentVolume]), { sandbox, parentSandbox: undefined }, true),
    /PARENT sandbox path needs a task group's executor/,
  );
  const escaping = {
    ...selfVolume,
    source: { ...selfVolume.source, sandbox_path: { type: 'SELF', path: '../..' } },
  };
  assert.throws(() => containerVolumes(mesos([escaping]), where, true), /escapes the sandbox/);
  assert.throws(
    () =>
      containerVolumes(
        mesos([{ container_path: 'd', source: { type: 'DOCKER_VOLUME' } }]),
        where,
        true,
      ),
    /DOCKER_VOLUME volumes are not supported/,
  );
  // Other containers handle their own volumes (the Docker containerizer's -v).
  assert.deepEqual(containerVolumes({ type: 'DOCKER', volumes: [host] }, where, true), []);
  assert.deepEqual(containerVolumes(undefined, where, true), []);
});

test('volumes made in a sandbox never follow a link planted there', (t) => {
  const dir = workDir(t);
  const sandbox = join(dir, 'sandbox');
  const outside = join(dir, 'outside');
  mkdirSync(sandbox);
  mkdirSync(outside);
  // A fetched archive (or a task group's sibling) may leave any link in the sandbox.
  symlinkSync(outside, join(sandbox, 'link'));
  const sandboxVolume = (path: string) => ({
    type: 'MESOS',
    volumes: [
      {
        container_path: 'scratch',
        source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path } },
        mode: 'RW',
      },
    ],
  });
  const where = { sandbox, parentSandbox: undefined };
  for (const path of ['link/made', 'link'])
    assert.throws(
      () => containerVolumes(sandboxVolume(path), where, false, { uid: 65534, gid: 65534 }),
      /passes through a link/,
    );
  assert.throws(
    () => linkVolumes(sandbox, [{ hostPath: '/x', containerPath: 'link/made/data', mode: 'RW' }]),
    /passes through a link/,
  );
  assert.deepEqual(readdirSync(outside), [], 'nothing made through the link');
  assert.equal(statSync(outside).uid, process.getuid?.(), 'nor handed to the task user');
});
