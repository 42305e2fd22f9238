// Long file: the command table, every command's flags and help in one place, is read for
// --help without loading any command's code.
// The `agora` command. Each subcommand's code is imported only when it runs,
// so `agora run` does not pay for the daemons (zod, pino) at start-up.
import { AGORA_VERSION } from '../wire/index.js';
import { type CommandSpec, overviewHelp } from './command.js';
import { masterOption } from './common-options.js';
import { dispatch, exitWith } from './dispatch.js';
import { RUN_COMMAND } from './run-spec.js';
import { AGENT_SECURITY_OPTIONS, MASTER_SECURITY_OPTIONS } from './security-options.js';

const jsonOption = {
  json: { type: 'boolean', description: 'print JSON instead of a table' },
} as const;
const logLevelOption = {
  log_level: {
    type: 'string',
    placeholder: 'level',
    description: 'trace, debug, info, warn or error',
    default: 'info',
  },
} as const;
const listenOptions = (port: number) =>
  ({
    ip: {
      type: 'string',
      placeholder: 'address',
      description: 'address to listen on',
      default: '127.0.0.1',
    },
    port: {
      type: 'string',
      placeholder: 'port',
      description: 'port to listen on (0: any free port)',
      default: String(port),
    },
    hostname: {
      type: 'string',
      placeholder: 'name',
      description: 'hostname to advertise',
      default: 'the advertised IP',
    },
    advertise_ip: {
      type: 'string',
      placeholder: 'address',
      description: 'IP to advertise when listening on a wildcard address',
    },
  }) as const;

/** Spelled out here: the command table must not load the containerizer to print help. */
const DEFAULT_CGROUPS_ROOT_TEXT = 'agora';

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary: 'start a local cluster (a master and agents) and keep it running until Ctrl-C',
    usage: '[options]',
    details: [
      'With --ha it runs highly available instead: a local coordinator (ZooKeeper, or etcd',
      'with --ha=etcd; Debian packages zookeeper, etcd-server), three masters electing a',
      'leader through it and keeping the registry in it, and agents that follow the leader.',
      'Its data is kept in <work_dir>/zookeeper (or etcd). Clients then name the coordinator:',
      '`agora run --master zk://127.0.0.1:2181/agora -- …`. A master that loses its',
      'coordinator session exits (code 70) and is restarted, as any daemon here that exits.',
    ].join('\n'),
    options: {
      ha: {
        type: 'string',
        placeholder: 'zookeeper|etcd',
        bareValue: 'zookeeper',
        description: 'run three masters with a local coordinator (ZooKeeper unless =etcd)',
      },
      masters: {
        type: 'string',
        placeholder: 'n',
        description: 'how many masters to start (with --ha)',
        default: '3',
      },
      coordinator_port: {
        type: 'string',
        placeholder: 'port',
        description: "the coordinator's port with --ha (0: any free port)",
        default: '2181 for ZooKeeper, 2379 for etcd',
      },
      zk_session_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: "the masters' coordinator session timeout with --ha (see agora master)",
        default: '10secs',
      },
      agents: {
        type: 'string',
        placeholder: 'n',
        description: 'how many agents to start',
        default: '2',
      },
      port: {
        type: 'string',
        placeholder: 'port',
        description: "the master's port, with --ha the first master's (0: any free port)",
        default: '5050 (with --ha: 5050, 5051, 5052)',
      },
      work_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'where the cluster keeps its state',
        default: './.agora',
      },
      jobs_port: {
        type: 'string',
        placeholder: 'port',
        description: "the jobs framework's REST port ('off': none)",
        default: '8090, or any free port when --port is 0',
      },
      services_port: {
        type: 'string',
        placeholder: 'port',
        description: "the services framework's port (Marathon's API; DNS on 8053) ('off': none)",
        default: '8080, or any free port when --port is 0',
      },
      no_services: { type: 'boolean', description: 'do not start the services framework' },
      no_jobs: { type: 'boolean', description: 'do not start the jobs framework' },
      agent_resources: {
        type: 'string',
        placeholder: 'resources',
        description: "each agent's --resources",
        default: 'detected from the host',
      },
      ...logLevelOption,
    },
    run: async (values) => (await import('./up.js')).up(values),
  },
  RUN_COMMAND,
  {
    name: 'jobs',
    summary: 'batch jobs: arrays, retries, dependencies, schedules (the jobs framework)',
    usage:
      'serve | submit -f <spec> | submit --array 0-N [options] -- <command> | list | show <job> | runs <job> | logs <job> [--index i] | cancel <job> | schedule -f <spec>',
    details: [
      'serve runs the jobs framework (REST API on --port, state in --work_dir); `agora up`',
      'starts one. The other subcommands talk to its REST API at --jobs.',
      'A spec is JSON or YAML: one job, a list of jobs, or { jobs: [...] }; schedule -f takes',
      '{ job: <id or spec>, schedule: { id, cron, timezone, concurrencyPolicy, ... } }.',
    ].join('\n'),
    allowPositionals: true,
    options: {
      ...masterOption,
      ...jsonOption,
      ...logLevelOption,
      jobs: {
        type: 'string',
        placeholder: 'host:port',
        description: "the jobs framework's REST API",
        default: '$AGORA_JOBS, else 127.0.0.1:8090',
      },
      file: {
        type: 'string',
        short: 'f',
        placeholder: 'spec',
        description: 'a job or schedule spec (JSON or YAML)',
      },
      array: {
        type: 'string',
        placeholder: '0-N[%P]',
        description: 'indices 0..N (at most P at a time), like sbatch --array',
      },
      id: {
        type: 'string',
        placeholder: 'job',
        description: 'the job id for submit --array',
        default: 'array-<time>',
      },
      cpus: { type: 'string', placeholder: 'n', description: 'CPUs per task', default: '0.1' },
      mem: {
        type: 'string',
        placeholder: 'MB',
        description: 'memory per task, in MB',
        default: '32',
      },
      parallelism: {
        type: 'string',
        placeholder: 'n',
        description: 'tasks running at once (default: all)',
      },
      max_retries: {
        type: 'string',
        placeholder: 'n',
        description: 'retries per index',
        default: '3',
      },
      lost_after: {
        type: 'string',
        placeholder: 'duration',
        description:
          "a task whose agent is unreachable this long is replaced elsewhere ('never' keeps it)",
        default: '5mins',
      },
      env: {
        type: 'string',
        placeholder: 'NAME=value',
        description: 'environment variable (repeatable)',
        multiple: true,
      },
      index: {
        type: 'string',
        placeholder: 'i',
        description: 'logs: the array index',
        default: '0',
      },
      run: {
        type: 'string',
        placeholder: 'run',
        description: 'logs: the run (default: the latest)',
      },
      stderr: { type: 'boolean', description: 'logs: stderr instead of stdout' },
      port: {
        type: 'string',
        placeholder: 'port',
        description: 'serve: the REST port',
        default: '8090',
      },
      ip: {
        type: 'string',
        placeholder: 'address',
        description: 'serve: address to listen on',
        default: '127.0.0.1',
      },
      work_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'serve: where its state is kept',
        default: './.agora/jobs',
      },
      docker_image: {
        type: 'string',
        placeholder: 'image',
        description:
          "submit --array: run each task in this Docker image (the agent's docker containerizer)",
      },
      state: {
        type: 'string',
        placeholder: 'where',
        description:
          'serve: where state is kept: embedded (under --work_dir), in_memory, zk://host:port/path or etcd://host:port/path',
        default: 'embedded',
      },
      aging: {
        type: 'string',
        placeholder: 'duration',
        description: "serve: τ of the priority rule's aging",
        default: '60secs',
      },
      role: {
        type: 'string',
        placeholder: 'role',
        description: 'serve: the role its tasks run as',
        default: '*',
      },
    },
    run: async (values, positionals) => (await import('./jobs.js')).jobs(values, positionals),
  },
  {
    name: 'tasks',
    summary: "list the cluster's tasks",
    usage: '[options]',
    options: {
      ...masterOption,
      ...jsonOption,
      all: { type: 'boolean', description: 'include completed tasks' },
    },
    run: async (values) => (await import('./tables.js')).tasks(values),
  },
  {
    name: 'task',
    summary: "run a command in a running task's container, or follow its output",
    usage: 'exec [options] <task-id> -- <command> [args...] | attach [options] <task-id>',
    details: [
      "exec runs a command inside the task's container (its cgroups, sandbox and",
      'environment), as `mesos task exec` does: one argument runs through /bin/sh -c,',
      "several are executed directly. Its stdout and stderr are this command's; with -i",
      'our stdin is passed on (without it the command reads an empty stdin). The first',
      'Ctrl-C (SIGINT, SIGTERM, SIGHUP) is sent on to the command, a second kills it and',
      'exits at once.',
      '',
      "attach follows the task's stdout and stderr from now on until the task ends.",
      'Ctrl-C detaches and leaves the task running.',
      '',
      "Exit status: the command's (for attach, the task's) own; 128+n if signal n ended",
      'it; 125 if it could not run (no such running task, the agent refused); 2 for a',
      'usage error, and for -t: the agent runs sessions without a terminal.',
    ].join('\n'),
    allowPositionals: true,
    unreachableExitStatus: 125,
    options: {
      ...masterOption,
      interactive: { type: 'boolean', short: 'i', description: 'pass stdin on to the command' },
      tty: {
        type: 'boolean',
        short: 't',
        description: 'a terminal for the command (refused: the agent has none to give)',
      },
    },
    run: async (values, positionals) => (await import('./task.js')).task(values, positionals),
  },
  {
    name: 'services',
    summary: "long-running services with Marathon's API: serve the framework, or drive it",
    usage:
      'serve [options] | apply -f app.json | list | show <id> | scale <id> <n> | restart <id> | delete <id> | deployments',
    details: [
      "serve runs the services framework: Marathon's REST API on --port (8080) and a DNS",
      'server on --dns_port (8053) answering <app>.<name>.<domain> (A) and',
      '_<app>._tcp.<name>.<domain> (SRV) for healthy instances. Its state (apps,',
      'deployments, instances) is kept in --state: embedded (under --work_dir), in_memory,',
      'zk://host:port/path or etcd://host:port/path.',
      '',
      'The other subcommands talk to a running framework at --url ($AGORA_SERVICES,',
      'else 127.0.0.1:8080). apply creates or replaces apps and groups from Marathon JSON or YAML.',
    ].join('\n'),
    allowPositionals: true,
    options: {
      ...masterOption,
      ...jsonOption,
      ...logLevelOption,
      url: {
        type: 'string',
        placeholder: 'host:port',
        description: 'the services framework to talk to',
      },
      file: {
        type: 'string',
        short: 'f',
        placeholder: 'file',
        description:
          'apply: app or group definitions (JSON or YAML, --- between several; - for stdin)',
      },
      force: { type: 'boolean', description: 'apply: replace a deployment in progress' },
      ip: {
        type: 'string',
        placeholder: 'address',
        description: 'serve: address of the API',
        default: '127.0.0.1',
      },
      port: {
        type: 'string',
        placeholder: 'port',
        description: 'serve: port of the API (0: any free port)',
        default: '8080',
      },
      dns_ip: {
        type: 'string',
        placeholder: 'address',
        description: 'serve: address of the DNS server',
        default: '127.0.0.1',
      },
      dns_port: {
        type: 'string',
        placeholder: 'port',
        description: 'serve: port of the DNS server (UDP and TCP)',
        default: '8053',
      },
      no_dns: { type: 'boolean', description: 'serve: run no DNS server' },
      domain: {
        type: 'string',
        placeholder: 'domain',
        description: 'serve: the DNS domain',
        default: 'agora.directory',
      },
      name: {
        type: 'string',
        placeholder: 'name',
        description: "serve: the framework's name (and DNS label)",
        default: 'services',
      },
      role: {
        type: 'string',
        placeholder: 'role',
        description: 'serve: the role apps run in by default',
        default: '*',
      },
      placement: {
        type: 'string',
        placeholder: 'policy',
        description: 'serve: spread, binpack, min-delay or priority',
        default: 'spread',
      },
      state: {
        type: 'string',
        placeholder: 'store',
        description: 'serve: where state is kept',
        default: 'embedded',
      },
      work_dir: {
        type: 'string',
        placeholder: 'dir',
        description: "serve: the embedded store's parent directory",
        default: './.agora',
      },
      deployment_stuck_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'serve: a deployment still this long is reported stuck',
        default: '5mins',
      },
      auto_rollback: {
        type: 'boolean',
        description:
          'serve: roll a stuck deploy back to the previous definition at once (Marathon waits for an operator)',
      },
      failover_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: "serve: how long the master keeps the framework's tasks while it is down",
        default: '1weeks',
      },
    },
    run: async (values, positionals) =>
      (await import('./services.js')).services(values, positionals),
  },
  {
    name: 'agents',
    summary: "list the cluster's agents",
    usage: '[options]',
    options: { ...masterOption, ...jsonOption },
    run: async (values) => (await import('./tables.js')).agents(values),
  },
  {
    name: 'frameworks',
    summary: "list the cluster's frameworks",
    usage: '[options]',
    options: {
      ...masterOption,
      ...jsonOption,
      all: { type: 'boolean', description: 'include completed frameworks' },
    },
    run: async (values) => (await import('./tables.js')).frameworks(values),
  },
  {
    name: 'master',
    summary: 'run a master',
    usage: '[options]',
    details: [
      'Alone, a master leads and keeps its registry in --work_dir. Highly available, several',
      'masters are given the same --zk (or --etcd) and --quorum: each enters the election',
      '(ZooKeeper: an ephemeral sequential <path>/json.info_<seq> node holding its MasterInfo,',
      'as Mesos writes it; etcd: a key under a lease), the lowest leads and keeps the registry',
      'in the coordinator, its every write fenced by its candidacy. The others stand by:',
      'they answer API calls with 307 to the leader (503 while none is elected) and serve',
      '/health, /metrics/snapshot (master/elected 0) and /master/state naming the leader.',
      '',
      'A master that loses its coordinator session (expired, or unreachable for',
      '--zk_session_timeout) exits with status 70, so it never acts as a second leader:',
      'run it under a supervisor that restarts it (agora up --ha does).',
    ].join('\n'),
    options: {
      ...listenOptions(5050),
      work_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'where the registry is kept (required unless --registry=in_memory)',
      },
      registry: {
        type: 'string',
        placeholder: 'kind',
        description:
          'embedded (durable, in --work_dir) or in_memory; with --zk or --etcd the registry lives in the coordinator',
        default: 'embedded',
      },
      zk: {
        type: 'string',
        placeholder: 'zk://host:port,…/path',
        description:
          'run highly available: contend for leadership through ZooKeeper (also zk://user:password@…, or file://<file>)',
      },
      etcd: {
        type: 'string',
        placeholder: 'http://host:port,…/path',
        description: 'run highly available through etcd instead (a lease and an election)',
      },
      zk_session_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'coordinator session timeout: a leader that loses its session stops leading',
        default: '10secs',
      },
      quorum: {
        type: 'string',
        placeholder: 'n',
        description:
          'how many masters run (a majority must be up); checked, the coordinator itself replicates the registry',
      },
      allocation_interval: {
        type: 'string',
        placeholder: 'duration',
        description: 'longest wait between allocations',
        default: '1secs',
      },
      allocation_batch_window: {
        type: 'string',
        placeholder: 'duration',
        description:
          'how long freed resources and (re-)registered agents wait for others before an allocation',
        default: '5ms',
      },
      agent_reregister_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'how long agents have to re-register after a master restart',
        default: '10mins',
      },
      agent_ping_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'how long an agent may be silent before a ping counts as missed',
        default: '15secs',
      },
      max_agent_ping_timeouts: {
        type: 'string',
        placeholder: 'n',
        description: 'missed pings after which an agent is unreachable and its tasks reported',
        default: '5',
      },
      max_operator_event_stream_subscribers: {
        type: 'string',
        placeholder: 'n',
        description:
          'operator event streams (SUBSCRIBE) open at once; past it the oldest is dropped',
        default: '1000',
      },
      agent_removal_rate_limit: {
        type: 'string',
        placeholder: 'n/duration',
        description: 'most agents marked unreachable per duration, e.g. 1/10mins',
        default: 'no limit',
      },
      domain: {
        type: 'string',
        placeholder: 'json|file',
        description:
          'fault domain: {"fault_domain":{"region":{"name":…},"zone":{"name":…}}}; agents of other regions go only to REGION_AWARE frameworks',
      },
      framework_reregister_timeout: {
        type: 'string',
        placeholder: 'duration',
        description:
          'least time a framework known from before a master restart has to resubscribe (its failover_timeout, if longer)',
        default: '10secs',
      },
      offer_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'rescind offers outstanding this long',
        default: 'never',
      },
      min_allocatable_resources: {
        type: 'string',
        placeholder: 'alternatives',
        description: "the least worth offering: '|'-separated alternatives",
        default: 'cpus:0.01|mem:32',
      },
      agent_sort: {
        type: 'string',
        placeholder: 'order',
        description: 'agent order each cycle: random, or uptime (stable agents first)',
        default: 'random',
      },
      agent_expected_uptime: {
        type: 'string',
        placeholder: 'duration',
        description: 'T in p = min(1, t/T) for --agent_sort=uptime',
        default: '1hrs',
      },
      max_request_body: {
        type: 'string',
        placeholder: 'size',
        description: 'largest request body accepted (413 above it)',
        default: '8MB',
      },
      cluster: {
        type: 'string',
        placeholder: 'name',
        description: "the cluster's name, shown in /master/state and /master/state-summary",
      },
      log_dir: {
        type: 'string',
        placeholder: 'dir',
        description:
          'also write the log to <dir>/agora-master.log, served as /master/log (/files/read, READ_FILE)',
      },
      external_log_file: {
        type: 'string',
        placeholder: 'file',
        description:
          'a log written by something else, served as /master/log when --log_dir is not set',
      },
      webui_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'the built web UI served at / (default: dist/webui next to this program)',
      },
      ...logLevelOption,
      ...MASTER_SECURITY_OPTIONS,
    },
    run: async (values) => (await import('./daemons.js')).runMaster(values, optionsOf('master')),
  },
  {
    name: 'agent',
    summary: 'run an agent',
    usage: '[options]',
    options: {
      master: {
        type: 'string',
        placeholder: 'host:port',
        description:
          'the master to register with (required): host:port, host:port,host:port, zk://…/path, etcd://…/path or file://<file>',
      },
      ...listenOptions(5051),
      work_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'where sandboxes and agent state live (required)',
      },
      resources: {
        type: 'string',
        placeholder: 'resources',
        description: "resources to offer, e.g. 'cpus:2;mem:1024;ports:[31000-32000]'",
        default: 'detected from the host',
      },
      attributes: {
        type: 'string',
        placeholder: 'attributes',
        description: "attributes, e.g. 'rack:r1;zone:a'",
      },
      isolation: {
        type: 'string',
        placeholder: 'isolators',
        description:
          "'posix/cpu,posix/mem', or 'cgroups/cpu,cgroups/mem,cgroups/pids' (each task limited in its own cgroup); add 'filesystem/linux' (volumes bind mounted) and 'docker/runtime' for images",
        default: 'cgroups where the agent is root and they are mounted, else posix',
      },
      cgroups_root: {
        type: 'string',
        placeholder: 'name',
        description: "the cgroup every task's cgroup goes under",
        default: DEFAULT_CGROUPS_ROOT_TEXT,
      },
      cgroups_enable_cfs: {
        type: 'boolean',
        description: "cap each task's CPU at its cpus (CFS quota), not only weigh it",
      },
      cgroups_max_pids: {
        type: 'string',
        placeholder: 'n',
        description: 'processes a task may run at once',
        default: '10000',
      },
      switch_user: {
        type: 'string',
        placeholder: 'true|false',
        bareValue: 'true',
        description:
          "run each task as its user (CommandInfo.user, else the framework's), which must exist here",
        default: 'true',
      },
      recover: {
        type: 'string',
        placeholder: 'mode',
        description:
          "after a restart: 'reconnect' to the tasks the previous agent left running, or 'cleanup' (kill them)",
        default: 'reconnect',
      },
      domain: {
        type: 'string',
        placeholder: 'json|file',
        description:
          'fault domain: {"fault_domain":{"region":{"name":…},"zone":{"name":…}}} (the master needs one too)',
      },
      fetcher_cache_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'where fetched URIs with cache: true are kept (emptied of them at start)',
        default: '<work_dir>/fetch',
      },
      fetcher_cache_size: {
        type: 'string',
        placeholder: 'bytes',
        description: "the fetcher cache's size, e.g. 512MB; 0B turns the cache off",
        default: '2GB',
      },
      registration_backoff_factor: {
        type: 'string',
        placeholder: 'duration',
        description:
          'the first (re-)registration waits a random time in [0, factor], doubling per retry up to 1mins',
        default: '1secs',
      },
      gc_delay: {
        type: 'string',
        placeholder: 'duration',
        description: "how long a finished task's sandbox is kept, e.g. 3days",
        default: '1weeks',
      },
      gc_disk_headroom: {
        type: 'string',
        placeholder: 'fraction',
        description:
          'sandboxes go sooner as the disk fills: kept at most gc_delay * max(0, 1 - headroom - disk usage)',
        default: '0.1',
      },
      disk_watch_interval: {
        type: 'string',
        placeholder: 'duration',
        description: "how often the work dir's disk usage is checked",
        default: '1mins',
      },
      executor_registration_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'how long a new executor has to subscribe before its tasks fail',
        default: '1mins',
      },
      executor_reregistration_timeout: {
        type: 'string',
        placeholder: 'duration',
        description: 'after an agent restart, how long a running executor has to subscribe again',
        default: '2secs',
      },
      executor_shutdown_grace_period: {
        type: 'string',
        placeholder: 'duration',
        description: 'how long an executor has to stop after SHUTDOWN before it is killed',
        default: '5secs',
      },
      containerizers: {
        type: 'string',
        placeholder: 'list',
        description: "containerizers in order: 'mesos', or 'docker,mesos' to run DOCKER tasks too",
        default: 'mesos',
      },
      docker: {
        type: 'string',
        placeholder: 'path',
        description: 'the docker CLI the Docker containerizer runs containers with',
        default: 'docker',
      },
      docker_socket: {
        type: 'string',
        placeholder: 'path',
        description: "the Docker daemon's unix socket",
        default: '/var/run/docker.sock',
      },
      docker_stop_timeout: {
        type: 'string',
        placeholder: 'duration',
        description:
          "a container's grace between SIGTERM and SIGKILL when its task has no kill policy",
        default: 'the agent-wide 3secs',
      },
      docker_remove_delay: {
        type: 'string',
        placeholder: 'duration',
        description: 'how long an ended container is kept before it is removed',
        default: '6hrs',
      },
      docker_kill_orphans: {
        type: 'string',
        placeholder: 'true|false',
        description: "kill running containers of this agent's that no task explains, at start",
        default: 'true',
      },
      image_providers: {
        type: 'string',
        placeholder: 'list',
        description:
          "'docker': MESOS containers may name a Docker image (mesos.image); needs --isolation with filesystem/linux,docker/runtime",
      },
      docker_registry: {
        type: 'string',
        placeholder: 'dir',
        description: "a local directory of 'docker save' archives, named <repository>:<tag>.tar",
      },
      docker_store_dir: {
        type: 'string',
        placeholder: 'dir',
        description: 'where Docker images are unpacked and cached for the Mesos containerizer',
        default: '/tmp/mesos/store/docker',
      },
      image_provisioner_backend: {
        type: 'string',
        placeholder: 'overlay|copy',
        description: "how a container's rootfs is made from its image",
        default: 'overlay where it can be mounted, else copy',
      },
      ...logLevelOption,
      ...AGENT_SECURITY_OPTIONS,
    },
    run: async (values) => (await import('./daemons.js')).runAgent(values, optionsOf('agent')),
  },
];

function optionsOf(name: string): CommandSpec['options'] {
  return COMMANDS.find((command) => command.name === name)?.options ?? {};
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overviewHelp(COMMANDS));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`agora ${AGORA_VERSION}\n`);
    return 0;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (spec === undefined) {
    process.stderr.write(`agora: unknown command '${name}'\n\n${overviewHelp(COMMANDS)}`);
    return 2;
  }
  return dispatch(spec, args);
}

// A promise, not top-level await: the bundle is CommonJS (scripts/build.mjs says why).
exitWith(main(process.argv.slice(2)));
