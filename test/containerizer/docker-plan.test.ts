import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DockerRunInput, planDockerRun } from '../../src/containerizer/docker-plan.js';
import { Resources } from '../../src/resources/index.js';

const base: DockerRunInput = {
  container: { type: 'DOCKER', docker: { image: 'busybox' } },
  command: { value: 'echo hi' },
  containerId: 'c1',
  sandbox: '/work/sandbox',
  resources: Resources.parse('cpus:0.5;mem:64;ports:[31000-31001]'),
  environment: { MESOS_TASK_ID: 't1', SECRET_THING: 'hunter2' },
  labels: { 'agora.task_id': 't1' },
  persistentVolumes: [],
};

function argsOf(input: Partial<DockerRunInput>): readonly string[] {
  const plan = planDockerRun({ ...base, ...input });
  assert.equal(plan.kind, 'run', plan.kind === 'invalid' ? plan.message : '');
  return plan.kind === 'run' ? plan.args : [];
}

function pairs(args: readonly string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ''] : []));
}

test('docker plan turns cpus and mem into shares, a CFS quota and a memory limit without swap', () => {
  const args = argsOf({});
  assert.deepEqual(pairs(args, '--cpu-shares'), ['512']);
  assert.deepEqual(pairs(args, '--cpu-quota'), ['50000']);
  assert.deepEqual(pairs(args, '--memory'), [String(64 * 1024 * 1024)]);
  assert.deepEqual(pairs(args, '--memory-swap'), [String(64 * 1024 * 1024)]);
});

test('docker plan runs a shell command through /bin/sh and entrypoint arguments as given', () => {
  const shell = argsOf({});
  assert.deepEqual(shell.slice(-5), ['--entrypoint', '/bin/sh', 'busybox', '-c', 'echo hi']);
  const entry = argsOf({ command: { shell: false, value: 'echo', arguments: ['a', 'b'] } });
  assert.deepEqual(entry.slice(-4), ['busybox', 'echo', 'a', 'b']);
  assert.equal(argsOf({ command: {} }).at(-1), 'busybox', "no value: the image's own command");
});

test('docker plan passes variables by name only, MESOS_SANDBOX pointing inside', () => {
  const plan = planDockerRun(base);
  assert.ok(plan.kind === 'run');
  assert.ok(!plan.args.some((arg) => arg.includes('hunter2')), 'values stay out of the argv');
  assert.ok(pairs(plan.args, '-e').includes('SECRET_THING'));
  assert.equal(plan.env.MESOS_SANDBOX, '/mnt/mesos/sandbox');
  assert.ok(pairs(plan.args, '-v').includes('/work/sandbox:/mnt/mesos/sandbox'));
  assert.ok(pairs(plan.args, '--label').includes('agora.task_id=t1'));
});

test('docker plan maps ports of the task and volumes inside the sandbox', () => {
  const args = argsOf({
    container: {
      type: 'DOCKER',
      docker: {
        image: 'busybox',
        network: 'BRIDGE',
        port_mappings: [{ host_port: 31001, container_port: 80 }],
        parameters: [{ key: 'ulimit', value: 'nofile=1024' }],
        privileged: true,
      },
      volumes: [
        { container_path: 'cache', host_path: 'cache-dir', mode: 'RO' },
        { container_path: '/data', host_path: '/srv/data', mode: 'RW' },
      ],
    },
    persistentVolumes: [{ hostPath: '/w/volumes/roles/r/v1', containerPath: 'pv', mode: 'RW' }],
  });
  assert.deepEqual(pairs(args, '--net'), ['bridge']);
  assert.deepEqual(pairs(args, '-p'), ['31001:80/tcp']);
  assert.ok(args.includes('--ulimit=nofile=1024'));
  assert.ok(args.includes('--privileged'));
  assert.deepEqual(pairs(args, '-v'), [
    '/work/sandbox:/mnt/mesos/sandbox',
    '/work/sandbox/cache-dir:/mnt/mesos/sandbox/cache:ro',
    '/srv/data:/data:rw',
    '/w/volumes/roles/r/v1:/mnt/mesos/sandbox/pv:rw',
  ]);
});

const invalid: readonly [string, Partial<DockerRunInput>, RegExp][] = [
  ['no image', { container: { type: 'DOCKER', docker: {} } }, /docker\.image/],
  ['no DockerInfo', { container: { type: 'DOCKER' } }, /'docker' is not set/],
  [
    'a port outside the task ports',
    {
      container: {
        type: 'DOCKER',
        docker: {
          image: 'b',
          network: 'BRIDGE',
          port_mappings: [{ host_port: 80, container_port: 80 }],
        },
      },
    },
    /host port 80 is not in the task's port resources/,
  ],
  [
    'port mappings on the host network',
    {
      container: {
        type: 'DOCKER',
        docker: { image: 'b', port_mappings: [{ host_port: 31000, container_port: 80 }] },
      },
    },
    /only supported for BRIDGE and USER/,
  ],
  [
    'a USER network without a name',
    { container: { type: 'DOCKER', docker: { image: 'b', network: 'USER' } } },
    /exactly one NetworkInfo/,
  ],
  [
    'a volume escaping the sandbox',
    {
      container: {
        type: 'DOCKER',
        docker: { image: 'b' },
        volumes: [{ container_path: 'x', host_path: '../../etc', mode: 'RW' }],
      },
    },
    /escapes the sandbox/,
  ],
  [
    'a parameter that is not an option name',
    {
      container: {
        type: 'DOCKER',
        docker: { image: 'b', parameters: [{ key: '-H', value: 'x' }] },
      },
    },
    /Invalid docker parameter key '-H'/,
  ],
  [
    'an unknown network mode',
    { container: { type: 'DOCKER', docker: { image: 'b', network: 'MAGIC' } } },
    /docker\.network/,
  ],
];

for (const [what, input, message] of invalid)
  test(`docker plan refuses ${what}, naming it`, () => {
    const plan = planDockerRun({ ...base, ...input } as DockerRunInput);
    assert.equal(plan.kind, 'invalid');
    assert.match(plan.kind === 'invalid' ? plan.message : '', message);
  });
