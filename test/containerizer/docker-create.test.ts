import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CreateBody,
  type DockerCreatePlan,
  planDockerCreate,
} from '../../src/containerizer/docker-create.js';
import { type DockerRunInput, planDockerRun } from '../../src/containerizer/docker-plan.js';
import { Resources } from '../../src/resources/index.js';

const base: DockerRunInput = {
  container: { type: 'DOCKER', docker: { image: 'busybox', network: 'BRIDGE' } },
  command: { value: 'echo hi' },
  containerId: 'c1',
  sandbox: '/work/sandbox',
  resources: Resources.parse('cpus:0.5;mem:64;ports:[31000-31001]'),
  environment: { MESOS_TASK_ID: 't1', PATH: '/bin' },
  labels: { 'agora.task_id': 't1' },
  persistentVolumes: [{ hostPath: '/work/volumes/v1', containerPath: 'data', mode: 'RO' }],
};

function createOf(input: Partial<DockerRunInput> = {}): DockerCreatePlan {
  const plan = planDockerRun({ ...base, ...input });
  assert.equal(plan.kind, 'run', plan.kind === 'invalid' ? plan.message : '');
  if (plan.kind !== 'run') throw new Error('unreachable');
  return planDockerCreate(plan.name, plan.args, plan.env);
}

function bodyOf(input: Partial<DockerRunInput> = {}): CreateBody {
  const create = createOf(input);
  assert.equal(create.kind, 'api', create.kind === 'cli' ? create.reason : '');
  if (create.kind !== 'api') throw new Error('unreachable');
  return create.body;
}

function withParameters(parameters: { key: string; value: string }[]): Partial<DockerRunInput> {
  return {
    container: { type: 'DOCKER', docker: { image: 'busybox', network: 'NONE', parameters } },
  };
}

test('docker create carries what docker run would: limits, ports, volumes, labels, variables', () => {
  const body = bodyOf({
    container: {
      type: 'DOCKER',
      docker: {
        image: 'busybox',
        network: 'BRIDGE',
        privileged: true,
        port_mappings: [{ host_port: 31001, container_port: 80, protocol: 'udp' }],
      },
      hostname: 'web',
    },
  });
  assert.equal(body.Image, 'busybox');
  assert.deepEqual(body.Entrypoint, ['/bin/sh']);
  assert.deepEqual(body.Cmd, ['-c', 'echo hi']);
  assert.equal(body.Hostname, 'web');
  assert.equal(body.Labels['agora.task_id'], 't1');
  assert.deepEqual(body.Env, [
    'MESOS_TASK_ID=t1',
    'PATH=/bin',
    'MESOS_SANDBOX=/mnt/mesos/sandbox',
    'MESOS_CONTAINER_NAME=mesos-c1',
  ]);
  assert.deepEqual(body.ExposedPorts, { '80/udp': {} });
  const host = body.HostConfig;
  assert.equal(host.NetworkMode, 'bridge');
  assert.deepEqual(host.PortBindings, { '80/udp': [{ HostIp: '', HostPort: '31001' }] });
  assert.equal(host.Privileged, true);
  assert.equal(host.CpuShares, 512);
  assert.equal(host.CpuPeriod, 100_000);
  assert.equal(host.CpuQuota, 50_000);
  assert.equal(host.Memory, 64 * 1024 * 1024);
  assert.equal(host.MemorySwap, 64 * 1024 * 1024);
  assert.deepEqual(host.Binds, [
    '/work/sandbox:/mnt/mesos/sandbox',
    '/work/volumes/v1:/mnt/mesos/sandbox/data:ro',
  ]);
});

test("docker create leaves the image's command alone when the task gives none, and passes arguments as given", () => {
  assert.equal(bodyOf({ command: { shell: false } }).Cmd, undefined);
  const body = bodyOf({ command: { shell: false, value: 'echo', arguments: ['a b', '-c'] } });
  assert.equal(body.Entrypoint, undefined);
  assert.deepEqual(body.Cmd, ['echo', 'a b', '-c']);
});

test('docker create turns the parameters it knows into the request, as the CLI reads them', () => {
  const body = bodyOf(
    withParameters([
      { key: 'env', value: 'FOO=bar=baz' },
      { key: 'label', value: 'team=infra' },
      { key: 'user', value: 'nobody' },
      { key: 'workdir', value: '/tmp' },
      { key: 'cap-add', value: 'NET_ADMIN' },
      { key: 'cap-add', value: 'SYS_TIME' },
      { key: 'add-host', value: 'db:10.0.0.2' },
      { key: 'shm-size', value: '64m' },
      { key: 'memory-swap', value: '-1' },
      { key: 'ulimit', value: 'nofile=1024:2048' },
      { key: 'sysctl', value: 'net.core.somaxconn=1024' },
      { key: 'tmpfs', value: '/run:size=1m' },
      { key: 'read-only', value: 'true' },
      { key: 'tty', value: 'false' },
      { key: 'log-driver', value: 'json-file' },
      { key: 'log-opt', value: 'max-size=10m' },
      { key: 'restart', value: 'on-failure:3' },
      { key: 'device', value: '/dev/fuse' },
      { key: 'volume', value: '/cache' },
      { key: 'net', value: 'host' },
    ]),
  );
  assert.ok(body.Env.includes('FOO=bar=baz'));
  assert.equal(body.Labels.team, 'infra');
  assert.equal(body.User, 'nobody');
  assert.equal(body.WorkingDir, '/tmp');
  assert.equal(body.Tty, false);
  assert.deepEqual(body.Volumes, { '/cache': {} });
  const host = body.HostConfig;
  assert.deepEqual(host.CapAdd, ['NET_ADMIN', 'SYS_TIME']);
  assert.deepEqual(host.ExtraHosts, ['db:10.0.0.2']);
  assert.equal(host.ShmSize, 64 * 1024 * 1024);
  assert.equal(host.MemorySwap, -1, 'a later flag wins, as in the CLI');
  assert.deepEqual(host.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  assert.deepEqual(host.Sysctls, { 'net.core.somaxconn': '1024' });
  assert.deepEqual(host.Tmpfs, { '/run': 'size=1m' });
  assert.equal(host.ReadonlyRootfs, true);
  assert.deepEqual(host.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m' } });
  assert.deepEqual(host.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(host.Devices, [
    { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
  ]);
  assert.equal(host.NetworkMode, 'host', "the parameter overrides the plan's --net");
});

test('docker create reads a TTY parameter: the logs come raw', () => {
  const create = createOf(withParameters([{ key: 'tty', value: 'true' }]));
  assert.equal(create.kind === 'api' && create.isTty, true);
});

for (const [what, parameter, reason] of [
  ['a mount', { key: 'mount', value: 'type=tmpfs,destination=/x' }, /--mount/],
  ['auto-removal', { key: 'rm', value: 'true' }, /--rm/],
  ['an interactive stdin', { key: 'interactive', value: 'true' }, /--interactive/],
  ['a port range', { key: 'publish', value: '8000-8001:80' }, /port mapping/],
  ['a variable taken from the client', { key: 'env', value: 'HOME' }, /'HOME' has no value/],
  ['a short flag spelt long', { key: 'e', value: 'A=1' }, /--e/],
  ['a boolean that is none', { key: 'privileged', value: 'yes' }, /not a boolean/],
  ['a size with no number', { key: 'shm-size', value: 'big' }, /size 'big'/],
] as const)
  test(`docker create leaves ${what} to the docker CLI, saying why`, () => {
    const create = createOf(withParameters([parameter]));
    assert.equal(create.kind, 'cli');
    assert.match(create.kind === 'cli' ? create.reason : '', reason);
  });
