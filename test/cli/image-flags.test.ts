import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/cli/command.js';
import { imageOptions } from '../../src/cli/docker-flags.js';

const isRoot = process.getuid?.() === 0;

test('image flags: docker images need filesystem/linux, docker/runtime and a local registry', () => {
  const refused = (values: Record<string, string>, pattern: RegExp) =>
    assert.throws(
      () => imageOptions(values, '/w'),
      (error: unknown) => error instanceof UsageError && pattern.test(error.message),
    );
  refused({ image_providers: 'appc' }, /'appc' is not supported/);
  refused(
    { image_providers: 'docker', isolation: 'filesystem/linux', docker_registry: '/r' },
    /filesystem\/linux and docker\/runtime/,
  );
  refused({ image_provisioner_backend: 'aufs' }, /expected overlay or copy/);
  if (isRoot)
    refused(
      {
        image_providers: 'docker',
        isolation: 'filesystem/linux,docker/runtime',
        docker_registry: 'https://registry-1.docker.io',
      },
      /must be a local directory/,
    );
  const none = imageOptions({ isolation: 'posix/cpu' }, '/w');
  assert.equal(none.images, undefined);
  assert.equal(none.isLinuxFilesystem, false);
  assert.equal(none.provisionerDir, '/w/provisioner');
  // A root agent without --isolation has filesystem/linux, as it has cgroups.
  assert.equal(imageOptions({}, '/w').isLinuxFilesystem, isRoot);
  if (isRoot) {
    const images = imageOptions(
      {
        image_providers: 'docker',
        isolation: 'cgroups/cpu,filesystem/linux,docker/runtime',
        docker_registry: '/r',
        image_provisioner_backend: 'copy',
      },
      '/w',
    );
    assert.ok(images.images !== undefined);
    assert.equal(images.backend, 'copy');
  }
});
