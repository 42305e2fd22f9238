// `agora run`'s entry in the command table: its flags and help. A module of its
// own so that dist/agora-run.cjs, the bundle `agora run` starts from
// (run-main.ts, scripts/build.mjs), holds this command's spec without the rest
// of the table.
import type { CommandSpec } from './command.js';
import { masterOption } from './common-options.js';

export const RUN_COMMAND: CommandSpec = {
  name: 'run',
  summary: 'run a command as a task on the cluster, stream its output, exit with its status',
  usage: '[options] -- <command> [args...]',
  details: [
    'One argument runs through /bin/sh -c (`agora run -- "echo hi; exit 3"`); several are',
    'executed directly (`agora run -- sh -c "echo hi"`). Task states go to stderr, the',
    "task's stdout and stderr to this command's.",
    '',
    'While no offer fits the task, it says after about 2 s why it waits (no agent has',
    'the free resources, the role is at its quota limit, ...) and again when that changes.',
    '--timeout bounds the whole run: before the task is launched it exits 125; after,',
    'the task is killed. The first Ctrl-C (SIGINT or SIGTERM) ends it at any stage:',
    'before the launch it leaves at once and the master forgets the framework; after,',
    'it kills the task and waits for it. A second one exits at once.',
    '',
    'If the master goes away, it re-subscribes with its framework id (a failover) and',
    "keeps following the task, for up to 5 minutes: its framework's failover_timeout, after",
    'which the master would also have removed it and killed the task.',
    '',
    "Exit status: the task's own; 128+n if signal n ended it (143 when killed by",
    'SIGTERM); 130 or 143 when interrupted before the launch; 125 if the task could not',
    'run (the master is unreachable, no agent fits it, --timeout passed first, it was',
    'invalid or lost); 2 for a usage error.',
  ].join('\n'),
  allowPositionals: true,
  // 125, as for every task that could not run at all (EXIT_COULD_NOT_RUN in frameworks/run.ts).
  unreachableExitStatus: 125,
  options: {
    ...masterOption,
    cpus: { type: 'string', placeholder: 'n', description: 'CPUs for the task', default: '0.1' },
    mem: {
      type: 'string',
      placeholder: 'MB',
      description: 'memory for the task, in MB',
      default: '32',
    },
    disk: {
      type: 'string',
      placeholder: 'MB',
      description: 'disk for the task, in MB',
      default: '0',
    },
    resources: {
      type: 'string',
      placeholder: 'resources',
      description: "Mesos resource text ('cpus:1;mem:128'); overrides --cpus/--mem/--disk",
    },
    name: {
      type: 'string',
      placeholder: 'name',
      description: 'task (and framework) name',
      default: 'agora-run',
    },
    role: { type: 'string', placeholder: 'role', description: 'role to run under', default: '*' },
    env: {
      type: 'string',
      placeholder: 'NAME=VALUE',
      description: 'environment variable for the task (repeatable)',
      multiple: true,
    },
    timeout: {
      type: 'string',
      placeholder: 'duration',
      description: 'give up after this long (Mesos duration: 30secs, 5mins)',
      default: 'none',
    },
    quiet: { type: 'boolean', short: 'q', description: 'do not report task states on stderr' },
    codec: {
      type: 'string',
      placeholder: 'json|protobuf',
      description: 'encoding of the scheduler API calls and events',
      default: 'json',
    },
    'docker-image': {
      type: 'string',
      placeholder: 'image',
      description:
        "run in a Docker container of this image (the agent needs --containerizers=docker,mesos); no command runs the image's own",
    },
    network: {
      type: 'string',
      placeholder: 'host|bridge|none',
      description: "the container's network",
      default: 'host',
    },
    publish: {
      type: 'string',
      short: 'p',
      placeholder: 'port',
      description:
        "publish this container port on a host port from the offer's ports (repeatable; bridge network)",
      multiple: true,
    },
    'force-pull': { type: 'boolean', description: 'pull the image even if the agent has it' },
    containerizer: {
      type: 'string',
      placeholder: 'docker|mesos',
      description:
        "who runs --docker-image: 'docker', or 'mesos' (the agent's --image_providers=docker)",
      default: 'docker',
    },
  },
  run: async (values, positionals) => (await import('./run.js')).run(values, positionals),
};
