// The books of standalone containers (standalone.ts) over a containerizer stand-in: the cap
// on how many run (503 past it), a retried launch (exists), a launch that fails (400, and no
// record left), and what a restarted agent makes of the records: one that ended is
// remembered with its status, one running is handed to the containerizer's recovery.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StandaloneContainers } from '../../src/agent/standalone.js';
import type {
  Container,
  Containerizer,
  LaunchSpec,
  Termination,
} from '../../src/containerizer/index.js';

function standIn() {
  const ends = new Map<string, (termination: Termination) => void>();
  const cleaned: string[] = [];
  let failing = false;
  const containerizer = {
    launch: async (spec: LaunchSpec): Promise<Container> => {
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
    books.launch({ container_id: { value }, command: { value: 'sleep 1' } }, 'launch_container');
  assert.equal(await launch('one'), 'launched');
  assert.equal(await launch('one'), 'exists', 'a retried launch');
  assert.equal(await launch('a-task'), 'exists', "a task's container id is taken");
  assert.equal(await launch('two'), 'launched');
  await assert.rejects(launch('three'), /2 standalone containers are running/);
  assert.equal(books.running().length, 2);

  fake.ends.get('one')?.({ exitCode: 3, signal: null });
  assert.deepEqual(await books.wait({ value: 'one' }), { exitCode: 3, signal: null });
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
  assert.deepEqual(await next.wait({ value: 'two' }), { exitCode: 0, signal: null });
  assert.equal(
    (await next.wait({ value: 'three' })).isUnknown,
    true,
    'one the containerizer did not find ended, how unknown',
  );
});
