// The services framework's Marathon 1.5 networking against a real dockerd: an app
// with `networks: [{mode: "container/bridge"}]` and `container.portMappings`
// runs in a bridge network, its host port (taken from the agent's offer) answers
// with what the container serves, and the task lists that port as Marathon does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dockerAgentFlags, freePortRun, startDocker } from './docker-harness.js';
import { defer, getState, startCluster, waitFor } from './harness.js';
import { api, startServices, tasksOf } from './services-helpers.js';

test('services: a container/bridge app answers on the host port its portMapping took', async (t) => {
  const docker = await startDocker({ bridge: true });
  defer(t, () => docker.stop());
  const firstPort = await freePortRun(2);
  const cluster = await startCluster({
    agents: 0,
    agentResources: `cpus:2;mem:1024;disk:1024;ports:[${firstPort}-${firstPort + 1}]`,
  });
  defer(t, () => cluster.stop());
  await cluster.addAgent('agent-1', dockerAgentFlags(docker));
  await waitFor('the agent to register', async () =>
    (await getState(cluster.masterUrl)).slaves.some((s) => s.active) ? true : undefined,
  );
  const stateDir = mkdtempSync(join(tmpdir(), 'agora-services-'));
  defer(t, () => rmSync(stateDir, { recursive: true, force: true }));
  const services = await startServices(cluster.masterUrl, stateDir);
  defer(t, () => services.daemon.stop());

  const created = await api(services.url, 'POST', '/v2/apps', {
    id: '/web',
    cmd: 'mkdir -p /www && echo "bridged $PORT_80 $PORT0" > /www/index.html && exec httpd -f -p 80 -h /www',
    cpus: 0.1,
    mem: 32,
    networks: [{ mode: 'container/bridge' }],
    container: {
      type: 'DOCKER',
      docker: { image: docker.image },
      portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.networks, [{ mode: 'container/bridge' }]);
  const [task] = await waitFor(
    'the instance to run',
    async () => {
      const tasks = await tasksOf(services.url, '/web');
      return tasks.length === 1 && tasks[0]?.state === 'TASK_RUNNING' ? tasks : undefined;
    },
    60_000,
  );
  const hostPort = task?.ports?.[0];
  assert.ok(
    hostPort !== undefined && hostPort >= firstPort && hostPort <= firstPort + 1,
    `a port of the offer: ${hostPort}`,
  );
  const body = await waitFor('httpd to answer on the host port', async () => {
    const response = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
    return response?.ok === true ? await response.text() : undefined;
  });
  // Inside, PORT_80 and PORT0 name the host port, as Marathon sets them.
  assert.equal(body.trim(), `bridged ${hostPort} ${hostPort}`);
  const deleted = await api(services.url, 'DELETE', '/v2/apps/web');
  assert.equal(deleted.status, 200);
  await waitFor('the container to go', async () =>
    (await docker.leftovers()).containers.length === 0 ? true : undefined,
  );
});
