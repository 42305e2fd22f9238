// The TaskInfo the jobs framework launches for one index of a run. Pure.
import { Resources } from '../../resources/index.js';
import {
  type CommandInfo,
  agentId as mintAgentId,
  taskId as mintTaskId,
  type TaskInfo,
} from '../../wire/index.js';
import type { LaunchTask } from './core.js';

/** The TaskInfo of one index: its command, its array env, the job's resources. */
export function taskInfoOf(task: LaunchTask, agentId: string, role: string | undefined): TaskInfo {
  const spec = task.run.spec;
  const env: Record<string, string> = {
    ...spec.run.env,
    AGORA_JOB_ID: task.run.jobId,
    AGORA_JOB_RUN_ID: task.run.id,
    AGORA_JOB_INDEX: String(task.index),
    AGORA_JOB_COMPLETIONS: String(spec.completions),
  };
  const command: CommandInfo = {
    ...(spec.run.cmd !== undefined
      ? { shell: true, value: spec.run.cmd }
      : { shell: false, value: spec.run.args?.[0] ?? '', arguments: spec.run.args ?? [] }),
    environment: {
      variables: Object.entries(env).map(([name, value]) => ({ name, type: 'VALUE', value })),
    },
    ...(spec.run.artifacts.length > 0
      ? {
          uris: spec.run.artifacts.map((a) => ({
            value: a.uri,
            ...(a.executable !== undefined ? { executable: a.executable } : {}),
            ...(a.extract !== undefined ? { extract: a.extract } : {}),
            ...(a.cache !== undefined ? { cache: a.cache } : {}),
          })),
        }
      : {}),
    ...(spec.run.user !== undefined ? { user: spec.run.user } : {}),
  };
  const quantities: Record<string, number> = { cpus: spec.run.cpus, mem: spec.run.mem };
  if (spec.run.disk > 0) quantities.disk = spec.run.disk;
  if (spec.run.gpus > 0) quantities.gpus = spec.run.gpus;
  let resources = Resources.scalars(quantities).toWire('pre-refinement');
  if (role !== undefined) resources = resources.map((r) => ({ ...r, allocation_info: { role } }));
  const docker = spec.run.docker;
  return {
    name: `${task.run.jobId}[${task.index}]`,
    task_id: mintTaskId(task.taskId),
    agent_id: mintAgentId(agentId),
    resources,
    command,
    // The agent's Docker containerizer runs it (`--containerizers docker,mesos`); the command
    // runs in the image as `agora run --docker-image` runs one.
    ...(docker !== undefined
      ? {
          container: {
            type: 'DOCKER',
            docker: {
              image: docker.image,
              network: docker.network,
              force_pull_image: docker.forcePullImage,
            },
          },
        }
      : {}),
    labels: { labels: Object.entries(spec.labels).map(([key, value]) => ({ key, value })) },
  };
}
