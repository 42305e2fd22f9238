// Marathon app fields beyond the common ones: `fetch` reaches the task's
// CommandInfo.uris, fields the framework does not implement are refused with a
// 422 naming them (their defaults accepted), and `container` is checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AppDefinition, parseApp } from '../../src/frameworks/services/app-definition.js';
import { taskInfoOf } from '../../src/frameworks/services/task-info.js';
import type { Offer } from '../../src/wire/index.js';
import { INSTANCE } from './services-fixtures.js';

function app(fields: Record<string, unknown>): AppDefinition {
  const parsed = parseApp({ id: '/web', cmd: 'serve', cpus: 0.1, mem: 16, ...fields });
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.failure));
  return parsed.value;
}

function refused(fields: Record<string, unknown>): { path: string; errors: readonly string[] }[] {
  const parsed = parseApp({ id: '/web', cmd: 'serve', ...fields });
  assert.equal(parsed.ok, false, `accepted ${JSON.stringify(fields)}`);
  if (parsed.ok) return [];
  assert.equal(parsed.failure.message, 'Object is not valid');
  return [...parsed.failure.details];
}

const OFFER = {
  id: { value: 'o1' },
  framework_id: { value: 'f' },
  agent_id: { value: 'a1' },
  hostname: 'h1',
  url: { scheme: 'http', address: { hostname: 'h1', ip: '127.0.0.1', port: 5051 }, path: '/' },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
  ],
} as unknown as Offer;

test('fetch entries become the task CommandInfo.uris with Marathon defaults', () => {
  const def = app({
    fetch: [
      { uri: 'http://127.0.0.1:8000/tool', executable: true, extract: false, destPath: 'bin/t' },
      { uri: 'http://127.0.0.1:8000/data.tgz', cache: true },
    ],
  });
  const task = taskInfoOf(def, INSTANCE, OFFER);
  assert.deepEqual(task.command?.uris, [
    {
      value: 'http://127.0.0.1:8000/tool',
      executable: true,
      extract: false,
      cache: false,
      output_file: 'bin/t',
    },
    { value: 'http://127.0.0.1:8000/data.tgz', executable: false, extract: true, cache: true },
  ]);
  // Plain uris keep working as before.
  assert.deepEqual(taskInfoOf(app({ uris: ['http://x/a'] }), INSTANCE, OFFER).command?.uris, [
    { value: 'http://x/a' },
  ]);
});

test('fetch: bad entries and uris given with fetch answer 422 naming the field', () => {
  assert.deepEqual(
    refused({ uris: ['http://x/a'], fetch: [{ uri: 'http://x/b' }] }).map((d) => d.path),
    ['/fetch'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: 'http://x/b', destPath: '/etc/passwd' }] }).map((d) => d.path),
    ['/fetch(0)/destPath'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: 'http://x/b', destPath: 'a/../../b' }] }).map((d) => d.path),
    ['/fetch(0)/destPath'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: '' }] }).map((d) => d.path),
    ['/fetch(0)/uri'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: 'http://x', extract: 'yes' }] }).map((d) => d.path),
    ['/fetch(0)/extract'],
  );
});

test('unimplemented Marathon fields answer 422 naming them; their defaults are accepted', () => {
  for (const [field, value] of [
    ['secrets', { db: { source: 'db-password' } }],
    ['acceptedResourceRoles', ['slave_public']],
    ['residency', { taskLostBehavior: 'WAIT_FOREVER' }],
    ['taskKillGracePeriodSeconds', 30],
    ['tty', true],
  ] as const) {
    const details = refused({ [field]: value });
    assert.deepEqual(
      details.map((d) => d.path),
      [`/${field}`],
      field,
    );
    assert.ok((details[0]?.errors.length ?? 0) > 0);
  }
  // What Marathon's GET shows by default and a client sends back on PUT.
  app({
    networks: [{ mode: 'host' }],
    secrets: {},
    acceptedResourceRoles: ['*'],
    executor: '',
    storeUrls: [],
    residency: null,
    ipAddress: null,
    tty: false,
  });
});

test('container: Marathon shape checked, 422 naming the path', () => {
  const docker = (fields: Record<string, unknown>) => ({
    container: { type: 'DOCKER', docker: { image: 'nginx', ...fields } },
  });
  const cases: [Record<string, unknown>, string][] = [
    [{ container: { type: 'DOCKER', docker: { image: 1 } } }, '/container/docker/image'],
    [{ container: { type: 'DOCKER', docker: { image: '' } } }, '/container/docker/image'],
    [{ container: { type: 'LXC' } }, '/container/type'],
    [{ container: { type: 'DOCKER' } }, '/container/docker'],
    [
      {
        ...docker({ network: 'BRIDGE', portMappings: [{ containerPort: 70_000 }] }),
        portDefinitions: [{ port: 0 }],
      },
      '/container/docker/portMappings(0)/containerPort',
    ],
    [
      {
        ...docker({ network: 'BRIDGE', portMappings: [{ containerPort: 80, hostPort: -1 }] }),
        portDefinitions: [{ port: 0 }],
      },
      '/container/docker/portMappings(0)/hostPort',
    ],
    // A mapping needs a host port of the app's to take.
    [
      docker({ network: 'BRIDGE', portMappings: [{ containerPort: 80 }] }),
      '/container/docker/portMappings(0)',
    ],
    [
      { ...docker({ portMappings: [{ containerPort: 80 }] }), portDefinitions: [{ port: 0 }] },
      '/container/docker/portMappings(0)',
    ],
    [docker({ network: 'USER' }), '/container/docker/network'],
    [
      {
        container: {
          type: 'DOCKER',
          docker: { image: 'x' },
          volumes: [{ containerPath: '/d', hostPath: '/etc', mode: 'rw' }],
        },
      },
      '/container/volumes(0)/mode',
    ],
    [
      {
        container: { type: 'MESOS', volumes: [{ containerPath: 1, hostPath: '/etc', mode: 'RO' }] },
      },
      '/container/volumes(0)/containerPath',
    ],
    [
      { container: { type: 'MESOS', volumes: [{ containerPath: '/d', hostPath: 7, mode: 'RO' }] } },
      '/container/volumes(0)/hostPath',
    ],
  ];
  for (const [fields, path] of cases) {
    const details = refused(fields);
    assert.ok(
      details.some((d) => d.path === path),
      `${JSON.stringify(fields)} names ${path}: ${JSON.stringify(details)}`,
    );
  }
});

test('container: a valid Marathon container becomes the Mesos ContainerInfo the agent reads', () => {
  const def = app({
    portDefinitions: [{ port: 0 }],
    container: {
      type: 'DOCKER',
      docker: {
        image: 'nginx:1',
        network: 'BRIDGE',
        portMappings: [{ containerPort: 80, hostPort: 0 }],
        forcePullImage: true,
      },
      // Host paths are Mesos' to allow: only their types are checked.
      volumes: [{ containerPath: '/data', hostPath: '/etc', mode: 'RW' }],
    },
  });
  const task = taskInfoOf(def, { ...INSTANCE, ports: [31005] }, OFFER);
  assert.deepEqual(task.container, {
    type: 'DOCKER',
    docker: {
      image: 'nginx:1',
      network: 'BRIDGE',
      privileged: false,
      force_pull_image: true,
      port_mappings: [{ container_port: 80, host_port: 31005, protocol: 'tcp' }],
    },
    volumes: [{ container_path: '/data', host_path: '/etc', mode: 'RW' }],
  });
  const mesos = taskInfoOf(
    app({ container: { type: 'MESOS', docker: { image: 'alpine' } } }),
    INSTANCE,
    OFFER,
  );
  assert.deepEqual(mesos.container, {
    type: 'MESOS',
    mesos: { image: { type: 'DOCKER', docker: { name: 'alpine' } } },
  });
});

test('container: an app stored before containers were checked still launches as it was given', () => {
  const legacy = { type: 'DOCKER', docker: { image: 'nginx', port_mappings: [] } };
  const def = { ...app({}), container: legacy } as unknown as AppDefinition;
  assert.deepEqual(taskInfoOf(def, INSTANCE, OFFER).container, legacy);
});
