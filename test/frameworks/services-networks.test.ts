// Marathon 1.5's networking in the services framework: `networks` with
// container/bridge or a named container network, the container-level
// `portMappings` giving the instance's host ports, and Marathon's rules for
// what does not go together (each a 422 naming the field).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AppDefinition, parseApp } from '../../src/frameworks/services/app-definition.js';
import { ServiceCore } from '../../src/frameworks/services/core.js';
import { taskInfoOf } from '../../src/frameworks/services/task-info.js';
import type { Offer } from '../../src/wire/index.js';
import { INSTANCE } from './services-fixtures.js';

function app(fields: Record<string, unknown>): AppDefinition {
  const parsed = parseApp({ id: '/web', cpus: 0.1, mem: 16, ...fields });
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.failure));
  return parsed.value;
}

function refusedAt(fields: Record<string, unknown>): string[] {
  const parsed = parseApp({ id: '/web', cpus: 0.1, mem: 16, ...fields });
  assert.equal(parsed.ok, false, `accepted ${JSON.stringify(fields)}`);
  return parsed.ok ? [] : parsed.failure.details.map((d) => d.path);
}

const OFFER = {
  id: { value: 'o1' },
  framework_id: { value: 'f' },
  agent_id: { value: 'a1' },
  hostname: 'h1',
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
  ],
} as unknown as Offer;

let ids = 0;
const newCore = () =>
  new ServiceCore({
    frameworkRole: '*',
    policy: 'spread',
    stuckAfterMs: 10_000,
    newId: () => String(++ids),
  });

const bridge = (portMappings: unknown[], docker: Record<string, unknown> = {}) => ({
  networks: [{ mode: 'container/bridge' }],
  container: { type: 'DOCKER', docker: { image: 'nginx:1', ...docker }, portMappings },
});

test('networks: an app naming none is on the host network, as Marathon shows it', () => {
  assert.deepEqual(app({ cmd: 'serve' }).networks, [{ mode: 'host' }]);
});

test('container/bridge: the mappings with a host port are the instance ports, mapped into the container', () => {
  const def = app(
    bridge([
      { containerPort: 80, hostPort: 0, name: 'http' },
      { containerPort: 53, hostPort: 31053, protocol: 'udp,tcp' },
      { containerPort: 9000, hostPort: 0 },
    ]),
  );
  // Each mapping takes one host port: dynamic (0) or the one it names.
  const core = newCore();
  assert.equal(core.putApp(def, 0, false).ok, true);
  core.tick(0);
  assert.deepEqual(
    core.launchRequests(0).map((r) => r.ports),
    [[0, 31053, 0]],
  );
  const task = taskInfoOf(def, { ...INSTANCE, ports: [31005, 31053, 31007] }, OFFER);
  assert.deepEqual(task.container, {
    type: 'DOCKER',
    docker: {
      image: 'nginx:1',
      network: 'BRIDGE',
      port_mappings: [
        { container_port: 80, host_port: 31005, protocol: 'tcp' },
        { container_port: 53, host_port: 31053, protocol: 'udp' },
        { container_port: 53, host_port: 31053, protocol: 'tcp' },
        { container_port: 9000, host_port: 31007, protocol: 'tcp' },
      ],
      privileged: false,
      force_pull_image: false,
    },
  });
  // The task takes the host ports from the offer.
  assert.deepEqual(
    task.resources?.find((r) => r.name === 'ports')?.ranges?.range,
    [31005, 31053, 31007].map((p) => ({ begin: p, end: p })),
  );
  const env = new Map(
    (task.command?.environment?.variables ?? []).map((v) => [v.name, v.value] as const),
  );
  assert.equal(env.get('PORT0'), '31005');
  assert.equal(env.get('PORT_80'), '31005', 'named by the container port');
  assert.equal(env.get('PORT_HTTP'), '31005');
  assert.equal(env.get('PORT_53'), '31053');
  assert.equal(env.get('PORTS'), '31005,31053,31007');
});

test('container network: joins the named network; a mapping without a host port takes none', () => {
  const def = app({
    networks: [{ mode: 'container', name: 'backend' }],
    container: {
      type: 'DOCKER',
      docker: { image: 'nginx:1' },
      portMappings: [{ containerPort: 8080 }, { containerPort: 80, hostPort: 0 }],
    },
  });
  const task = taskInfoOf(def, { ...INSTANCE, ports: [31010] }, OFFER);
  assert.deepEqual(task.container, {
    type: 'DOCKER',
    docker: {
      image: 'nginx:1',
      network: 'USER',
      port_mappings: [{ container_port: 80, host_port: 31010, protocol: 'tcp' }],
      privileged: false,
      force_pull_image: false,
    },
    network_infos: [{ name: 'backend' }],
  });
});

test('health and readiness checks name the host ports of container/bridge mappings', () => {
  const def = app({
    ...bridge([{ containerPort: 80, hostPort: 0, name: 'web' }]),
    healthChecks: [{ protocol: 'MESOS_HTTP', portIndex: 0, path: '/' }],
    readinessChecks: [{ name: 'ready', portName: 'web', path: '/ready' }],
  });
  const task = taskInfoOf(def, { ...INSTANCE, ports: [31020] }, OFFER);
  assert.equal(task.health_check?.http?.port, 31020);
  assert.deepEqual(
    refusedAt({
      ...bridge([{ containerPort: 80, hostPort: 0 }]),
      healthChecks: [{ protocol: 'MESOS_HTTP', portIndex: 1, path: '/' }],
    }),
    ['/healthChecks(0)/portIndex'],
  );
});

test('what Marathon refuses with networks is a 422 naming the field', () => {
  const cases: [Record<string, unknown>, string][] = [
    // Container networking runs Docker containers only.
    [{ cmd: 'serve', networks: [{ mode: 'container/bridge' }] }, '/networks'],
    [
      {
        networks: [{ mode: 'container/bridge' }],
        container: { type: 'MESOS', docker: { image: 'x' } },
      },
      '/networks',
    ],
    [{ ...bridge([]), networks: [{ mode: 'container' }] }, '/networks(0)/name'],
    [{ ...bridge([]), networks: [{ mode: 'container', name: 'a b' }] }, '/networks(0)/name'],
    [{ ...bridge([]), networks: [{ mode: 'vlan' }] }, '/networks(0)/mode'],
    [{ ...bridge([]), networks: [{ mode: 'container/bridge' }, { mode: 'host' }] }, '/networks'],
    [
      {
        ...bridge([]),
        networks: [
          { mode: 'container', name: 'a' },
          { mode: 'container', name: 'b' },
        ],
      },
      '/networks',
    ],
    [{ ...bridge([]), networks: [] }, '/networks'],
    // Host networking takes portDefinitions; container networking, portMappings.
    [
      {
        container: {
          type: 'DOCKER',
          docker: { image: 'x' },
          portMappings: [{ containerPort: 80 }],
        },
      },
      '/container/portMappings',
    ],
    [
      { ...bridge([{ containerPort: 80, hostPort: 0 }]), portDefinitions: [{ port: 0 }] },
      '/portDefinitions',
    ],
    [bridge([{ containerPort: 80 }]), '/container/portMappings(0)/hostPort'],
    [bridge([{ hostPort: 0 }]), '/container/portMappings(0)/containerPort'],
    [
      bridge([
        { containerPort: 80, hostPort: 31000 },
        { containerPort: 81, hostPort: 31000 },
      ]),
      '/container/portMappings(1)/hostPort',
    ],
    [bridge([{ containerPort: 80, hostPort: 70_000 }]), '/container/portMappings(0)/hostPort'],
    [
      bridge([{ containerPort: 80, hostPort: 0, protocol: 'sctp' }]),
      '/container/portMappings(0)/protocol',
    ],
    // Every labels map of an app follows the app's own labels rule.
    [
      bridge([{ containerPort: 80, hostPort: 0, labels: { '': 'x' } }]),
      '/container/portMappings(0)/labels/',
    ],
    [
      {
        ...bridge([]),
        networks: [
          {
            mode: 'container/bridge',
            labels: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v'])),
          },
        ],
      },
      '/networks(0)/labels',
    ],
    // The old form and the new do not mix.
    [bridge([], { network: 'BRIDGE' }), '/container/docker/network'],
    [
      {
        ...bridge([], { portMappings: [{ containerPort: 80 }] }),
      },
      '/container/docker/portMappings',
    ],
  ];
  for (const [fields, path] of cases) {
    const paths = refusedAt(fields);
    assert.ok(paths.includes(path), `${JSON.stringify(fields)} names ${path}: ${paths.join(', ')}`);
  }
});

test('an app stored before networks were kept reads as host networking, so a PUT of it changes nothing', () => {
  const def = app({ cmd: 'serve', portDefinitions: [{ port: 0 }] });
  const { networks: _dropped, ...old } = def;
  const core = newCore();
  core.restore(
    new Map([
      [
        'app:/web',
        JSON.stringify({
          def: old,
          version: '2026-01-01T00:00:00.000Z',
          configVersion: '2026-01-01T00:00:00.000Z',
          scalingVersion: '2026-01-01T00:00:00.000Z',
          previous: undefined,
          isDeleting: false,
          failures: 0,
          delayUntilMs: 0,
          lastFailure: undefined,
        }),
      ],
    ]),
  );
  assert.deepEqual(core.apps.get('/web')?.def.networks, [{ mode: 'host' }]);
});
