import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ComposingContainerizer,
  type OwningContainerizer,
} from '../../src/containerizer/composing-containerizer.js';
import type { Container, Containerizer, LaunchSpec } from '../../src/containerizer/types.js';
import { Resources } from '../../src/resources/index.js';

/** A containerizer that records what it was asked, and owns what it launched. */
function recording(name: string): OwningContainerizer & { readonly calls: string[] } {
  const calls: string[] = [];
  const owned = new Set<string>();
  return {
    calls,
    description: name,
    async launch(spec: LaunchSpec): Promise<Container> {
      calls.push(`launch ${spec.containerId}`);
      owned.add(spec.containerId);
      return { id: spec.containerId } as unknown as Container;
    },
    async recover(known) {
      calls.push(`recover ${known.map((k) => k.containerId).join(',')}`);
      for (const k of known) owned.add(k.containerId);
      return new Map();
    },
    async cleanup(id) {
      calls.push(`cleanup ${id}`);
    },
    enter: (id) => (owned.has(id) ? { file: name, args: [] } : undefined),
    owns: (id) => owned.has(id),
    close: () => {
      calls.push('close');
    },
  };
}

const spec = (containerId: string, container?: Record<string, unknown>): LaunchSpec => ({
  containerId,
  sandbox: '/s',
  runtimeDir: '/r',
  command: { value: 'true' },
  environment: {},
  resources: Resources.EMPTY,
  ...(container !== undefined ? { container } : {}),
});

test('composing containerizer sends DOCKER tasks to Docker and the rest to the Mesos containerizer', async () => {
  const mesos = recording('mesos');
  const docker = recording('docker');
  const composing = new ComposingContainerizer(mesos as Containerizer, docker);
  await composing.launch(spec('m1'));
  await composing.launch(spec('d1', { type: 'DOCKER', docker: { image: 'x' } }));
  await composing.launch(spec('m2', { type: 'MESOS' }));
  assert.deepEqual(mesos.calls, ['launch m1', 'launch m2']);
  assert.deepEqual(docker.calls, ['launch d1']);
  await composing.cleanup('d1');
  await composing.cleanup('m1');
  assert.equal(composing.enter('d1', ['sh'])?.file, 'docker');
  assert.equal(docker.calls.at(-1), 'cleanup d1');
  assert.equal(mesos.calls.at(-1), 'cleanup m1');
  await composing.recover([
    {
      containerId: 'd2',
      runtimeDir: '/r',
      resources: Resources.EMPTY,
      container: { type: 'DOCKER' },
    },
    { containerId: 'm3', runtimeDir: '/r', resources: Resources.EMPTY },
  ]);
  assert.equal(docker.calls.at(-1), 'recover d2');
  assert.equal(mesos.calls.at(-1), 'recover m3');
});

test('composing containerizer refuses DOCKER without Docker saying why, and gives mesos.image to the Mesos side', async () => {
  const mesos = recording('mesos');
  const composing = new ComposingContainerizer(mesos as Containerizer, undefined);
  await assert.rejects(
    composing.launch(spec('d', { type: 'DOCKER', docker: { image: 'x' } })),
    /no Docker containerizer \(--containerizers=docker,mesos\)/,
  );
  await composing.launch(spec('u', { type: 'MESOS', mesos: { image: { type: 'DOCKER' } } }));
  assert.equal(mesos.calls.at(-1), 'launch u');
  const found = await composing.recover([
    {
      containerId: 'd',
      runtimeDir: '/r',
      resources: Resources.EMPTY,
      container: { type: 'DOCKER' },
    },
  ]);
  assert.deepEqual(found.get('d'), { exitCode: null, signal: null, isUnknown: true });
});
