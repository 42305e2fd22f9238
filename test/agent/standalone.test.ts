// The books of standalone containers (standalone.ts) over a containerizer stand-in: the cap
// on how many run (503 past it), a retried launch (exists), a launch that fails (400, and no
// record left), and what a restarted agent makes of the records: one that ended is
// remembered with its status, one running is handed to the containerizer's recovery.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StandaloneContainers } from '../../src/agent/standalone.js';
import { containerLimits } from '../../src/containerizer/container-limits.js';
import type {
  CgroupLimits,
  Container,
  Containerizer,
  LaunchSpec,
  Termination,
} from '../../src/containerizer/index.js';
import { parseAcls } from '../../src/runtime/index.js';

function standIn() {
  const ends = new Map<string, (termination: Termination) => void>();
  const specs: LaunchSpec[] = [];
  const cleaned: string[] = [];
  let failing = false;
  const containerizer = {
    launch: async (spec: LaunchSpec): Promise<Container> => {
      specs.push(spec);
      if (failing) {
        failing = false;
        throw new Error('no such command');
      }
      const terminated = new Promise<Termination>((resolve) => ends.set(spec.containerId, resolve));
      return {
        id: spec.containerId,
        pid: 4242,
        terminated,
        cgroupProcsFiles: [],
        signal: (signal) => ends.get(spec.containerId)?.({ exitCode: null, signal }),
        usage: () => ({ timestamp: 0 }),
      };
    },
    cleanup: async (id: string) => {
      cleaned.push(id);
    },
  } as unknown as Containerizer;
  return {
    containerizer,
    ends,
    cleaned,
    specs,
    fail: () => {
      failing = true;
    },
  };
}

test('standalone containers: a cap, a retried launch, a failed one, and their records across a restart', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-standalone-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const fake = standIn();
  const books = new StandaloneContainers({
    containerizer: fake.containerizer,
    workDir,
    isIdTaken: (id) => id === 'a-task',
    max: 2,
  });
  const launch = (value: string) =>
    books.launch(
      { container_id: { value }, command: { value: 'sleep 1' } },
      'launch_container',
      undefined,
    );
  assert.equal(await launch('one'), 'launched');
  assert.equal(await launch('one'), 'exists', 'a retried launch');
  assert.equal(await launch('a-task'), 'exists', "a task's container id is taken");
  assert.equal(await launch('two'), 'launched');
  await assert.rejects(launch('three'), /2 standalone containers are running/);
  assert.equal(books.running().length, 2);

  fake.ends.get('one')?.({ exitCode: 3, signal: null });
  assert.deepEqual(await books.wait({ value: 'one' }, undefined), { exitCode: 3, signal: null });
  assert.deepEqual(fake.cleaned, ['one'], 'its cgroups are freed once it ends');
  fake.fail();
  await assert.rejects(launch('broken'), /launch_container: cannot start the container/);
  assert.ok(!existsSync(books.recordDir('broken')), 'no record is left of a failed launch');
  assert.equal(await launch('three'), 'launched', 'an ended one does not count, nor a failed one');
  assert.throws(() => books.remove({ value: 'two' }), /still running/);
  books.remove({ value: 'one' });
  assert.throws(() => books.remove({ value: 'one' }), /no container one/);

  // The next agent on the same work dir: 'two' and 'three' were running.
  const next = new StandaloneContainers({
    containerizer: standIn().containerizer,
    workDir,
    isIdTaken: () => false,
  });
  const known = next.known();
  assert.deepEqual(known.map((k) => k.containerId).sort(), ['three', 'two']);
  await next.recover(known, new Map([['two', { exitCode: 0, signal: null }]]));
  assert.deepEqual(await next.wait({ value: 'two' }, undefined), { exitCode: 0, signal: null });
  assert.equal(
    (await next.wait({ value: 'three' }, undefined)).isUnknown,
    true,
    'one the containerizer did not find ended, how unknown',
  );
});

test('standalone containers run as their command user under --switch_user, with their limits, as the ACLs allow', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-standalone-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const fake = standIn();
  const nobody = { name: 'nobody', uid: 65534, gid: 65534, home: '/' };
  const books = new StandaloneContainers({
    containerizer: fake.containerizer,
    workDir,
    isIdTaken: () => false,
    switchUser: true,
    lookupUser: (name) => (name === 'nobody' ? nobody : undefined),
    acls: parseAcls({
      launch_standalone_containers: [
        { principals: { values: ['ops'] }, users: { type: 'ANY' } },
        { principals: { type: 'ANY' }, users: { type: 'NONE' } },
      ],
      view_standalone_containers: [{ principals: { type: 'ANY' }, users: { type: 'NONE' } }],
      kill_standalone_containers: [{ principals: { values: ['ops'] }, users: { type: 'ANY' } }],
      permissive: false,
    }),
  });
  const body = {
    container_id: { value: 'c1' },
    command: { value: 'sleep 1', user: 'nobody' },
    resources: [
      { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.5 } },
      { name: 'mem', type: 'SCALAR' as const, scalar: { value: 64 } },
    ],
    limits: { cpus: { value: 2 }, mem: { value: 256 } },
  };
  await assert.rejects(books.launch(body, 'launch_container', 'intruder'), /Forbidden/);
  await assert.rejects(books.launch(body, 'launch_container', undefined), /Forbidden/);
  assert.equal(fake.specs.length, 0, 'nothing launched for a caller the ACLs refuse');
  assert.equal(await books.launch(body, 'launch_container', 'ops'), 'launched');
  const [spec] = fake.specs;
  assert.ok(spec !== undefined);
  assert.deepEqual(spec.user, nobody, 'runs as its command user');
  assert.equal(statSync(spec.sandbox).uid, 65534, 'in a sandbox that is theirs');
  const cgroups: CgroupLimits = containerLimits(
    { kind: 'cgroups', enableCfs: false, pidsMax: 100 },
    spec.resources,
    spec.limits,
  );
  assert.equal(cgroups.cfsQuotaUs, 200_000, 'the cpus limit is the CFS quota');
  assert.equal(cgroups.memoryLimitBytes, 256 * 1024 * 1024, 'the mem limit is the hard limit');
  assert.equal(cgroups.cpuShares, 512, 'the request still gives the shares');
  assert.equal(books.mayView('ops'), false);
  assert.throws(() => books.authorize('kill_standalone_containers', 'intruder'), /Forbidden/);
  await assert.rejects(books.wait({ value: 'c1' }, 'ops'), /Forbidden/, 'not permissive');

  const bad = (more: Record<string, unknown>, message: RegExp) =>
    assert.rejects(
      books.launch({ ...body, container_id: { value: 'c2' }, ...more }, 'launch_container', 'ops'),
      message,
    );
  await bad({ command: { value: 'true', user: 'no-such-user' } }, /launch_container.command.user/);
  assert.ok(!existsSync(join(workDir, 'containers', 'c2')), 'no sandbox is left of it');
  await bad({ limits: { mem: { value: 32 } } }, /launch_container.limits.mem: 32 is below the 64/);
  await bad({ limits: { disk: { value: 1 } } }, /launch_container.limits.disk: only cpus and mem/);
  assert.equal(fake.specs.length, 1);
});
