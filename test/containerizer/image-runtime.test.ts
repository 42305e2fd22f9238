import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_IMAGE_PATH, volumeBinds } from '../../src/containerizer/image-runtime.js';
import {
  hasImage,
  imageCommand,
  imageEnvironment,
  imageOf,
  parseImageConfig,
  parseImageReference,
  registryArchivePaths,
} from '../../src/containerizer/index.js';

test('image reference parses repository, tag and digest, and refuses registry hosts', () => {
  assert.deepEqual(parseImageReference('busybox'), { repository: 'busybox', tag: 'latest' });
  assert.deepEqual(parseImageReference('agora/busy-box:1.36'), {
    repository: 'agora/busy-box',
    tag: '1.36',
  });
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseImageReference(`busybox@${digest}`), { repository: 'busybox', digest });
  assert.throws(() => parseImageReference('registry.example.com/busybox'), /registry host/);
  assert.throws(() => parseImageReference('localhost:5000/busybox:1'), /registry host/);
  assert.throws(() => parseImageReference('../etc/passwd'), /invalid repository/);
  assert.throws(() => parseImageReference('Busybox'), /invalid repository/);
  assert.throws(() => parseImageReference('busybox:-bad'), /invalid tag/);
  assert.throws(() => parseImageReference('busybox@sha256:xyz'), /invalid digest/);
});

test('image archives are looked for as <repository>:<tag>.tar, library/ or not', () => {
  assert.deepEqual(registryArchivePaths('/r', { repository: 'busybox', tag: 'latest' }), [
    '/r/busybox:latest.tar',
    '/r/library/busybox:latest.tar',
  ]);
  assert.deepEqual(registryArchivePaths('/r', { repository: 'library/redis', tag: '7' }), [
    '/r/library/redis:7.tar',
    '/r/redis:7.tar',
  ]);
  assert.deepEqual(registryArchivePaths('/r', { repository: 'a/b', digest: 'sha256:00' }), [
    '/r/a/b@sha256:00.tar',
  ]);
});

test('mesos.image: none, DOCKER, and what cannot run here, named', () => {
  assert.deepEqual(imageOf(undefined), { kind: 'none' });
  assert.deepEqual(imageOf({ type: 'MESOS', mesos: {} }), { kind: 'none' });
  const docker = { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'b' } } } };
  assert.deepEqual(imageOf(docker), { kind: 'docker', name: 'b' });
  assert.equal(hasImage(docker), true);
  assert.equal(hasImage({ type: 'MESOS' }), false);
  assert.throws(
    () => imageOf({ mesos: { image: { type: 'APPC', appc: { name: 'x' } } } }),
    /APPC is not supported/,
  );
  assert.throws(
    () => imageOf({ mesos: { image: { type: 'DOCKER' } } }),
    /docker\.name' is required/,
  );
  assert.throws(
    () => imageOf({ mesos: { image: { type: 'OCI' } } }),
    /'container\.mesos\.image' is invalid/,
  );
});

test('the docker/runtime table: shell, value, arguments against Entrypoint and Cmd', () => {
  const config = (entrypoint?: string[], cmd?: string[]) =>
    parseImageConfig({ config: { Entrypoint: entrypoint ?? null, Cmd: cmd ?? null } });
  const both = config(['/e', 'e1'], ['c1']);
  const cmdOnly = config(undefined, ['/c', 'c1']);
  const entryOnly = config(['/e', 'e1']);
  const neither = config();
  // No value, no arguments: Entrypoint then Cmd.
  assert.deepEqual(imageCommand(both, { shell: false }), ['/e', 'e1', 'c1']);
  assert.deepEqual(imageCommand(cmdOnly, { shell: false }), ['/c', 'c1']);
  assert.deepEqual(imageCommand(entryOnly, { shell: false }), ['/e', 'e1']);
  assert.throws(() => imageCommand(neither, { shell: false }), /neither Entrypoint nor Cmd/);
  // Arguments, no value: they replace the Cmd (its first word stays the executable).
  assert.deepEqual(imageCommand(both, { shell: false, arguments: ['a'] }), ['/e', 'e1', 'a']);
  assert.deepEqual(imageCommand(cmdOnly, { shell: false, arguments: ['a'] }), ['/c', 'a']);
  assert.throws(() => imageCommand(neither, { shell: false, arguments: ['a'] }), /neither/);
  // A value: the executable, whatever the image says (arguments[0] is its argv[0]).
  assert.deepEqual(imageCommand(both, { shell: false, value: '/v' }), ['/v']);
  assert.deepEqual(imageCommand(both, { shell: false, value: '/v', arguments: ['v', 'x'] }), [
    '/v',
    'x',
  ]);
  // A shell: /bin/sh -c value, or an error without a value.
  assert.deepEqual(imageCommand(both, { value: 'echo hi' }), ['/bin/sh', '-c', 'echo hi']);
  assert.throws(() => imageCommand(both, { shell: true }), /needs a value/);
});

test("the image's Env comes first, the task's wins, and the sandbox is the container's", () => {
  const config = parseImageConfig({ config: { Env: ['A=image', 'B=image', 'junk'] } });
  assert.deepEqual(imageEnvironment(config, { B: 'task', MESOS_SANDBOX: '/host/s' }), {
    PATH: DEFAULT_IMAGE_PATH,
    A: 'image',
    B: 'task',
    MESOS_SANDBOX: '/mnt/mesos/sandbox',
  });
  assert.equal(parseImageConfig({ config: { WorkingDir: '' } }).workingDir, undefined);
  assert.throws(() => parseImageConfig({ config: { Env: 'x' } }), /not a Docker image config/);
});

test('volume binds: under the sandbox or the rootfs, never out of them', () => {
  const volume = (containerPath: string) =>
    ({ hostPath: '/v', containerPath, mode: 'RO' }) as const;
  assert.deepEqual(volumeBinds([volume('d')], { sandbox: '/s', rootfs: undefined }), [
    { source: { kind: 'host', path: '/v' }, base: '/s', path: 'd', isReadOnly: true },
  ]);
  // From the root the walk covers the image's own way to the sandbox too.
  assert.deepEqual(
    volumeBinds([volume('d/'), volume('/data/x')], { sandbox: '/s', rootfs: '/r' }),
    [
      {
        source: { kind: 'host', path: '/v' },
        base: '/r',
        path: 'mnt/mesos/sandbox/d',
        isReadOnly: true,
      },
      { source: { kind: 'host', path: '/v' }, base: '/r', path: 'data/x', isReadOnly: true },
    ],
  );
  // A sandbox path is walked from its sandbox, as the target is.
  assert.deepEqual(
    volumeBinds([{ hostPath: '/p/shared/x', sandboxBase: '/p', containerPath: 'd', mode: 'RW' }], {
      sandbox: '/s',
      rootfs: undefined,
    }),
    [
      {
        source: { kind: 'sandbox', base: '/p', path: 'shared/x' },
        base: '/s',
        path: 'd',
        isReadOnly: false,
      },
    ],
  );
  assert.throws(
    () => volumeBinds([volume('../x')], { sandbox: '/s', rootfs: undefined }),
    /escapes/,
  );
  assert.throws(
    () => volumeBinds([volume('/abs')], { sandbox: '/s', rootfs: undefined }),
    /absolute/,
  );
  assert.throws(() => volumeBinds([volume('/')], { sandbox: '/s', rootfs: '/r' }), /below \//);
});
