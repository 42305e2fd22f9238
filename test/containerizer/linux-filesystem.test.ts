// Docker images in the Mesos containerizer with real processes and real mounts:
// an image archive (written as `docker save` writes it) is unpacked into the
// store with its whiteouts applied, a task runs inside its rootfs (an overlay,
// or a copy) with the image's Entrypoint/Cmd/Env/WorkingDir, its sandbox at
// /mnt/mesos/sandbox and its volume bind mounted; a task without an image under
// filesystem/linux gets its volume bind mounted in its own mount namespace; and
// nothing is left mounted or on disk once the containers are cleaned up.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  type Container,
  DockerImageStore,
  LinuxFilesystemContainerizer,
  MesosContainerizer,
  type ProvisionerBackend,
} from '../../src/containerizer/index.js';
import { Resources } from '../../src/resources/index.js';
import type { CommandInfo } from '../../src/wire/index.js';
import { writeBusyboxImage } from '../integration/image-archive.js';

const isRoot = process.getuid?.() === 0;
const IMAGE = 'agora-test/busybox:1';

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(dir));
}

async function waitForFile(path: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!existsSync(path)) {
    if (performance.now() > deadline) throw new Error(`${path} did not appear`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function bed(t: TestContext, backend: ProvisionerBackend | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'agora-image-'));
  const registryDir = join(dir, 'registry');
  writeBusyboxImage({
    registryDir,
    repository: 'agora-test/busybox',
    tag: '1',
    scratch: join(dir, 'scratch'),
    config: {
      Env: ['PATH=/bin', 'IMAGE_VAR=from-image', 'OVERRIDDEN=image'],
      Entrypoint: ['/bin/echo', 'entry'],
      Cmd: ['default-cmd'],
      WorkingDir: '/work',
    },
  });
  const provisionerDir = join(dir, 'work', 'provisioner');
  const containerizer = new LinuxFilesystemContainerizer(
    new MesosContainerizer({ isolation: { kind: 'posix' } }),
    {
      isLinuxFilesystem: true,
      images: new DockerImageStore({ registryDir, storeDir: join(dir, 'store') }),
      backend,
      provisionerDir,
    },
  );
  const launched: Container[] = [];
  t.after(async () => {
    containerizer.close();
    for (const container of launched) container.signal('SIGKILL');
    await Promise.all(launched.map((c) => c.terminated));
    for (const container of launched) await containerizer.cleanup(container.id);
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  const launch = async (
    command: CommandInfo,
    more: {
      image?: string;
      volumes?: { hostPath: string; sandboxBase?: string; containerPath: string }[];
      /** Called with the sandbox before the launch, as the fetcher fills it. */
      prepare?: (sandbox: string) => void;
      /** Called while the task runs, before its end is awaited. */
      whileRunning?: (container: Container) => Promise<void>;
    } = {},
  ) => {
    const id = `c${n++}`;
    const sandbox = join(dir, id, 'sandbox');
    mkdirSync(sandbox, { recursive: true });
    more.prepare?.(sandbox);
    const container = await containerizer.launch({
      containerId: `agora-test-${process.pid}-${id}`,
      sandbox,
      runtimeDir: join(dir, id, 'runtime'),
      command,
      environment: { PATH: process.env.PATH ?? '/usr/bin:/bin', OVERRIDDEN: 'task' },
      resources: Resources.parse('cpus:0.1;mem:64'),
      ...(more.image === undefined
        ? {}
        : {
            container: {
              type: 'MESOS',
              mesos: { image: { type: 'DOCKER', docker: { name: more.image } } },
            },
          }),
      volumes: (more.volumes ?? []).map((v) => ({ ...v, mode: 'RW' as const })),
    });
    launched.push(container);
    await more.whileRunning?.(container);
    const termination = await container.terminated;
    return {
      termination,
      stdout: readFileSync(join(sandbox, 'stdout'), 'utf8'),
      stderr: readFileSync(join(sandbox, 'stderr'), 'utf8'),
      sandbox,
    };
  };
  return { containerizer, launch, dir, provisionerDir };
}

for (const backend of ['overlay', 'copy'] as const)
  test(`a task runs inside its Docker image (${backend} backend), whiteouts applied, and leaves nothing behind`, {
    skip: isRoot ? false : 'mounts need root',
  }, async (t) => {
    const { launch, containerizer, dir, provisionerDir } = bed(t, backend);
    const volume = join(dir, 'volume');
    mkdirSync(volume);
    const inside = await launch(
      {
        value: [
          'pwd',
          'cat /etc/agora-image',
          'test -e /etc/gone && echo gone-is-there',
          'ls /opt/dir',
          'echo "$IMAGE_VAR $OVERRIDDEN $MESOS_SANDBOX"',
          'test -e /usr/bin/node && echo host-is-visible',
          'echo written > /mnt/mesos/sandbox/from-inside',
          'echo kept > /data/file',
          'exit 3',
        ].join('; '),
      },
      { image: IMAGE, volumes: [{ hostPath: volume, containerPath: '/data' }] },
    );
    assert.equal(inside.termination.exitCode, 3, inside.stderr);
    assert.equal(
      inside.stdout,
      ['/work', 'from layer 1', 'upper', 'from-image task /mnt/mesos/sandbox', ''].join('\n'),
    );
    assert.equal(readFileSync(join(inside.sandbox, 'from-inside'), 'utf8'), 'written\n');
    assert.equal(readFileSync(join(volume, 'file'), 'utf8'), 'kept\n');
    // No command value: the image's Entrypoint and Cmd; arguments replace the Cmd.
    const entry = await launch({ shell: false }, { image: IMAGE });
    assert.equal(entry.stdout, 'entry default-cmd\n');
    const args = await launch({ shell: false, arguments: ['a', 'b'] }, { image: IMAGE });
    assert.equal(args.stdout, 'entry a b\n');
    // What a container writes to its root stays in its own upper layer or copy.
    await launch({ value: 'echo changed > /etc/agora-image' }, { image: IMAGE });
    const again = await launch({ value: 'cat /etc/agora-image' }, { image: IMAGE });
    assert.equal(again.stdout, 'from layer 1\n');
    await assert.rejects(
      launch({ value: 'true' }, { image: 'agora-test/missing:2' }),
      /Failed to find image 'agora-test\/missing:2' in the local registry/,
    );
    // A volume target through a link of the image would be made and mounted on the host.
    await assert.rejects(
      launch(
        { value: 'true' },
        { image: IMAGE, volumes: [{ hostPath: volume, containerPath: '/bin/sh/x' }] },
      ),
      /'\/bin\/sh\/x' passes through a link in the image/,
    );
    assert.deepEqual(mountsUnder(dir), [], 'every mount was in a container namespace');
    // Cleanup removes each container's rootfs.
    for (const id of readdirSync(join(provisionerDir, 'containers')))
      await containerizer.cleanup(id);
    assert.deepEqual(readdirSync(join(provisionerDir, 'containers')), []);
  });

test('filesystem/linux bind mounts a command task volume in its own mount namespace', {
  skip: isRoot ? false : 'mounts need root',
}, async (t) => {
  const { launch, dir, containerizer } = bed(t, undefined);
  const volume = join(dir, 'volume');
  mkdirSync(volume);
  let entered = '';
  let enteredAsNobody = '';
  const result = await launch(
    {
      value:
        'echo bound > data/file && test ! -L data && grep -q " $PWD/data " /proc/self/mountinfo && while [ ! -e go ]; do sleep 0.05; done',
    },
    {
      volumes: [{ hostPath: volume, containerPath: 'data' }],
      // A command entering the container (a check, `task exec`) sees its mounts too.
      whileRunning: async (container) => {
        const enter = containerizer.enter(container.id, ['/bin/sh', '-c', 'cat data/file']);
        assert.ok(enter !== undefined);
        await waitForFile(join(volume, 'file'));
        entered = execFileSync(enter.file, enter.args, { cwd: dir, encoding: 'utf8' });
        // As a user: nsenter drops to it once inside (setpriv first could not enter).
        const asNobody = containerizer.enter(
          container.id,
          ['/bin/sh', '-c', 'id -u; cat data/file'],
          {
            name: 'nobody',
            uid: 65534,
            gid: 65534,
          },
        );
        assert.ok(asNobody !== undefined);
        enteredAsNobody = execFileSync(asNobody.file, asNobody.args, {
          cwd: dir,
          encoding: 'utf8',
        });
        writeFileSync(join(dirname(volume), 'c0', 'sandbox', 'go'), 'go\n');
      },
    },
  );
  assert.equal(entered, 'bound\n');
  assert.equal(enteredAsNobody, '65534\nbound\n');
  assert.equal(result.termination.exitCode, 0, result.stderr);
  assert.equal(readFileSync(join(volume, 'file'), 'utf8'), 'bound\n');
  // On the host the sandbox has an empty directory, not the volume.
  assert.ok(existsSync(join(result.sandbox, 'data')));
  assert.equal(existsSync(join(result.sandbox, 'data', 'file')), false);
  assert.deepEqual(mountsUnder(dir), []);
});

test('filesystem/linux refuses a volume whose container path passes through a link in the sandbox', {
  skip: isRoot ? false : 'mounts need root',
}, async (t) => {
  const { launch, dir } = bed(t, undefined);
  const volume = join(dir, 'volume');
  const outside = join(dir, 'outside');
  mkdirSync(volume);
  mkdirSync(outside);
  // A fetched archive may hold any link: this one points out of the sandbox.
  const plant = (sandbox: string) => symlinkSync(outside, join(sandbox, 'link'));
  for (const containerPath of ['link/made', 'link']) {
    const result = await launch(
      { value: 'echo ran' },
      { prepare: plant, volumes: [{ hostPath: volume, containerPath }] },
    );
    assert.notEqual(result.termination.exitCode, 0);
    assert.match(result.stderr, /passes through a link/);
    assert.equal(result.stdout, '');
  }
  assert.deepEqual(readdirSync(outside), [], 'nothing made through the link');
  assert.deepEqual(mountsUnder(dir), []);
});

test('filesystem/linux mounts a sandbox-path volume from what it walked, never through a link swapped in', {
  skip: isRoot ? false : 'mounts need root',
}, async (t) => {
  const { launch, dir } = bed(t, undefined);
  const secret = join(dir, 'host-secret');
  mkdirSync(secret);
  writeFileSync(join(secret, 'key'), 'host only\n');
  // The agent made `shared` as a directory and checked it; a sibling task then swapped it for
  // a link to the host (here: before the launch, the widest window the race can give).
  const result = await launch(
    { value: 'cat data/key; echo ran' },
    {
      prepare: (sandbox) => symlinkSync(secret, join(sandbox, 'shared')),
      volumes: [
        {
          hostPath: join(dir, 'c0', 'sandbox', 'shared'),
          sandboxBase: join(dir, 'c0', 'sandbox'),
          containerPath: 'data',
        },
      ],
    },
  );
  assert.doesNotMatch(result.stdout, /host only/, 'the host directory was mounted');
  assert.notEqual(result.termination.exitCode, 0);
  assert.match(result.stderr, /passes through a link/);
  assert.deepEqual(mountsUnder(dir), []);
});

test('filesystem/linux mounts a sandbox-path volume that is a real directory', {
  skip: isRoot ? false : 'mounts need root',
}, async (t) => {
  const { launch, dir } = bed(t, undefined);
  const result = await launch(
    { value: 'cat data/note' },
    {
      prepare: (sandbox) => {
        mkdirSync(join(sandbox, 'pod', 'shared'), { recursive: true });
        writeFileSync(join(sandbox, 'pod', 'shared', 'note'), 'from the pod\n');
      },
      volumes: [
        {
          hostPath: join(dir, 'c0', 'sandbox', 'pod', 'shared'),
          sandboxBase: join(dir, 'c0', 'sandbox'),
          containerPath: 'data',
        },
      ],
    },
  );
  assert.equal(result.termination.exitCode, 0, result.stderr);
  assert.equal(result.stdout, 'from the pod\n');
  assert.deepEqual(mountsUnder(dir), []);
});
