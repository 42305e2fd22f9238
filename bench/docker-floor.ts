// The floor of the Docker benchmarks (#11): `docker run` with the very options the agent gives
// dockerd for a task, so that the floor's container is the task's and not a bare one.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKER_LABELS, planDockerRun } from '../src/containerizer/docker-plan.js';
import { Resources } from '../src/resources/index.js';

/**
 * The `docker run` options the agent gives dockerd for `agora run --docker-image IMG --network
 * none -- CMD` (0.1 cpu, 32 MB): the same plan, so the floor's container is the task's
 * (its limits, the sandbox's bind mount, the MESOS_* variables, the labels, `/bin/sh -c CMD`),
 * not a bare one. Returns the argv after `run` and the values of the `-e NAME` variables.
 */
export function taskDockerRun(
  image: string,
  dir: string,
  command: string,
): { name: string; args: readonly string[]; env: Readonly<Record<string, string>> } {
  const containerId = randomUUID();
  const sandbox = join(dir, 'floor-sandboxes', containerId);
  mkdirSync(sandbox, { recursive: true });
  const endpoint = '127.0.0.1:5051';
  const plan = planDockerRun({
    container: { type: 'DOCKER', docker: { image, network: 'NONE' } },
    command: { shell: true, value: command },
    containerId,
    sandbox,
    resources: Resources.parse('cpus:0.1;mem:32'),
    environment: {
      MESOS_FRAMEWORK_ID: randomUUID(),
      MESOS_EXECUTOR_ID: containerId,
      MESOS_TASK_ID: containerId,
      MESOS_SANDBOX: sandbox,
      MESOS_DIRECTORY: sandbox,
      MESOS_SLAVE_ID: randomUUID(),
      MESOS_AGENT_ENDPOINT: endpoint,
      MESOS_SLAVE_PID: `slave(1)@${endpoint}`,
      MESOS_CHECKPOINT: '0',
      MESOS_ALLOCATION_ROLE: '*',
    },
    labels: {
      [DOCKER_LABELS.containerId]: containerId,
      [DOCKER_LABELS.workDir]: dir,
      [DOCKER_LABELS.agentId]: randomUUID(),
      [DOCKER_LABELS.frameworkId]: randomUUID(),
      [DOCKER_LABELS.taskId]: containerId,
      'agora.engine_api': '1',
    },
    persistentVolumes: [],
  });
  if (plan.kind !== 'run') throw new Error(`the floor's plan: ${plan.message}`);
  return { name: plan.name, args: plan.args, env: plan.env };
}
