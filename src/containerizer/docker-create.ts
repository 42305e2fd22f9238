// From the `docker run` argv that docker-plan.ts builds to the body of the
// Engine API's `POST /containers/create`, so that the agent can create and
// start a container over dockerd's socket instead of exec'ing the Go CLI
// (~35 ms of wall time and CPU per exec here, #11). The argv stays the one
// description of a task's container: the API path reads it back, flag by flag,
// the way the CLI would, and where it meets a flag it cannot express exactly
// (a `parameters` entry such as `--mount` or `--rm`), it says so and the task
// runs through the CLI as before. Pure.

/** What `POST /containers/create?name=<name>` gets, and how its output comes back. */
export interface DockerCreate {
  readonly kind: 'api';
  readonly name: string;
  readonly body: CreateBody;
  /** With a TTY, logs come as one raw stream (no 8-byte frame headers), all of it stdout. */
  readonly isTty: boolean;
}

export type DockerCreatePlan =
  | DockerCreate
  | { readonly kind: 'cli' /** Why the CLI runs this one. */; readonly reason: string };

/** The fields of the create body this module writes (Docker's own names). */
export interface CreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env: string[];
  Labels: Record<string, string>;
  Hostname?: string;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  StopSignal?: string;
  StopTimeout?: number;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
  HostConfig: HostConfig;
}

export interface HostConfig {
  NetworkMode?: string;
  Binds?: string[];
  PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
  Privileged?: boolean;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  NanoCpus?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  MemorySwappiness?: number;
  OomKillDisable?: boolean;
  OomScoreAdj?: number;
  PidsLimit?: number;
  ShmSize?: number;
  CapAdd?: string[];
  CapDrop?: string[];
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  ExtraHosts?: string[];
  GroupAdd?: string[];
  SecurityOpt?: string[];
  VolumesFrom?: string[];
  Sysctls?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  LogConfig?: { Type: string; Config: Record<string, string> };
  ReadonlyRootfs?: boolean;
  Init?: boolean;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  CgroupnsMode?: string;
  RestartPolicy?: { Name: string; MaximumRetryCount: number };
}

/** Flags that take the next argv word as their value (the plan writes them so). */
const SPLIT_FLAGS = new Set([
  '--name',
  '--label',
  '--net',
  '-p',
  '--hostname',
  '--cpu-shares',
  '--cpu-period',
  '--cpu-quota',
  '--memory',
  '--memory-swap',
  '-v',
  '-e',
  '--entrypoint',
]);

/** Short spellings (`-e`), to the long name the table below knows. */
const SHORT: Readonly<Record<string, string>> = {
  e: 'env',
  v: 'volume',
  p: 'publish',
  h: 'hostname',
  u: 'user',
  w: 'workdir',
  l: 'label',
  m: 'memory',
  c: 'cpu-shares',
  t: 'tty',
};

type Apply = (
  body: CreateBody,
  value: string,
  env: Readonly<Record<string, string>>,
) => string | undefined;

/**
 * How each `docker run` flag lands in the body; a result string is the reason it cannot.
 * Absent flags (--rm, --mount, --detach, --interactive, --publish-all, …) go through the CLI:
 * what they change (auto-removal racing the wait, stdin, a mount syntax of its own) is not
 * worth re-implementing for the few tasks that pass them.
 */
const FLAGS: Readonly<Record<string, Apply>> = {
  name: () => 'the container is named by the agent',
  label: (body, value) => {
    const [key, label] = splitOnce(value, '=');
    body.Labels[key] = label ?? '';
    return undefined;
  },
  env: (body, value, env) => {
    if (value.includes('=')) body.Env.push(value);
    else if (env[value] !== undefined) body.Env.push(`${value}=${env[value]}`);
    // By name from the CLI's own environment: only the plan's variables are known here.
    else return `variable '${value}' has no value`;
    return undefined;
  },
  network: (body, value) => {
    body.HostConfig.NetworkMode = value;
    return undefined;
  },
  publish: (body, value) => {
    const port = parsePublish(value);
    if (port === undefined) return `port mapping '${value}' is not host:container[/proto]`;
    body.ExposedPorts ??= {};
    body.ExposedPorts[port.key] = {};
    body.HostConfig.PortBindings ??= {};
    const bindings = body.HostConfig.PortBindings[port.key] ?? [];
    bindings.push({ HostIp: port.hostIp, HostPort: port.hostPort });
    body.HostConfig.PortBindings[port.key] = bindings;
    return undefined;
  },
  expose: (body, value) => {
    if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(value)) return `exposed port '${value}' is a range`;
    body.ExposedPorts ??= {};
    body.ExposedPorts[value.includes('/') ? value : `${value}/tcp`] = {};
    return undefined;
  },
  volume: (body, value) => {
    // host:container[:mode] is a bind (or a named volume); a lone path an anonymous volume.
    if (value.includes(':')) body.HostConfig.Binds = [...(body.HostConfig.Binds ?? []), value];
    else body.Volumes = { ...body.Volumes, [value]: {} };
    return undefined;
  },
  'volumes-from': list('VolumesFrom'),
  hostname: string((body, v) => (body.Hostname = v)),
  user: string((body, v) => (body.User = v)),
  workdir: string((body, v) => (body.WorkingDir = v)),
  'stop-signal': string((body, v) => (body.StopSignal = v)),
  'stop-timeout': integer((body, v) => (body.StopTimeout = v)),
  entrypoint: (body, value) => {
    // An empty one resets the image's entrypoint in the CLI (an empty list, not [""]).
    if (value === '') return 'an empty entrypoint';
    body.Entrypoint = [value];
    return undefined;
  },
  tty: boolean((body, v) => (body.Tty = v)),
  privileged: boolean((body, v) => (body.HostConfig.Privileged = v)),
  'read-only': boolean((body, v) => (body.HostConfig.ReadonlyRootfs = v)),
  init: boolean((body, v) => (body.HostConfig.Init = v)),
  'oom-kill-disable': boolean((body, v) => (body.HostConfig.OomKillDisable = v)),
  'cpu-shares': integer((body, v) => (body.HostConfig.CpuShares = v)),
  'cpu-period': integer((body, v) => (body.HostConfig.CpuPeriod = v)),
  'cpu-quota': integer((body, v) => (body.HostConfig.CpuQuota = v)),
  'oom-score-adj': integer((body, v) => (body.HostConfig.OomScoreAdj = v)),
  'pids-limit': integer((body, v) => (body.HostConfig.PidsLimit = v)),
  'memory-swappiness': integer((body, v) => (body.HostConfig.MemorySwappiness = v)),
  cpus: (body, value) => {
    const cpus = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(cpus)) return `cpus '${value}'`;
    body.HostConfig.NanoCpus = Math.round(cpus * 1e9);
    return undefined;
  },
  'cpuset-cpus': string((body, v) => (body.HostConfig.CpusetCpus = v)),
  'cpuset-mems': string((body, v) => (body.HostConfig.CpusetMems = v)),
  memory: bytes((body, v) => (body.HostConfig.Memory = v)),
  'memory-swap': (body, value) => {
    // -1: unlimited swap, which the CLI passes as is.
    if (value === '-1') body.HostConfig.MemorySwap = -1;
    else return bytes((b, v) => (b.HostConfig.MemorySwap = v))(body, value, {});
    return undefined;
  },
  'memory-reservation': bytes((body, v) => (body.HostConfig.MemoryReservation = v)),
  'shm-size': bytes((body, v) => (body.HostConfig.ShmSize = v)),
  'cap-add': list('CapAdd'),
  'cap-drop': list('CapDrop'),
  dns: list('Dns'),
  'dns-search': list('DnsSearch'),
  'dns-option': list('DnsOptions'),
  'add-host': list('ExtraHosts'),
  'group-add': list('GroupAdd'),
  'security-opt': list('SecurityOpt'),
  sysctl: (body, value) => {
    const [key, setting] = splitOnce(value, '=');
    if (setting === undefined) return `sysctl '${value}' is not key=value`;
    body.HostConfig.Sysctls = { ...body.HostConfig.Sysctls, [key]: setting };
    return undefined;
  },
  tmpfs: (body, value) => {
    const [path, options] = splitOnce(value, ':');
    body.HostConfig.Tmpfs = { ...body.HostConfig.Tmpfs, [path]: options ?? '' };
    return undefined;
  },
  ulimit: (body, value) => {
    const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
    if (match === null) return `ulimit '${value}' is not name=soft[:hard]`;
    const soft = Number(match[2]);
    body.HostConfig.Ulimits ??= [];
    body.HostConfig.Ulimits.push({
      Name: match[1] ?? '',
      Soft: soft,
      Hard: match[3] === undefined ? soft : Number(match[3]),
    });
    return undefined;
  },
  device: (body, value) => {
    const [host = '', inside, permissions] = value.split(':');
    if (!host.startsWith('/')) return `device '${value}'`;
    const isPermissions =
      inside !== undefined && /^[rwm]+$/.test(inside) && permissions === undefined;
    body.HostConfig.Devices ??= [];
    body.HostConfig.Devices.push({
      PathOnHost: host,
      PathInContainer: inside === undefined || isPermissions ? host : inside,
      CgroupPermissions: (isPermissions ? inside : permissions) ?? 'rwm',
    });
    return undefined;
  },
  'log-driver': (body, value) => {
    body.HostConfig.LogConfig = { Type: value, Config: body.HostConfig.LogConfig?.Config ?? {} };
    return undefined;
  },
  'log-opt': (body, value) => {
    const [key, setting] = splitOnce(value, '=');
    if (setting === undefined) return `log option '${value}' is not key=value`;
    body.HostConfig.LogConfig ??= { Type: '', Config: {} };
    body.HostConfig.LogConfig.Config[key] = setting;
    return undefined;
  },
  restart: (body, value) => {
    const match = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value);
    if (match === null) return `restart policy '${value}'`;
    body.HostConfig.RestartPolicy = {
      Name: match[1] ?? 'no',
      MaximumRetryCount: Number(match[2] ?? 0),
    };
    return undefined;
  },
  ipc: string((body, v) => (body.HostConfig.IpcMode = v)),
  pid: string((body, v) => (body.HostConfig.PidMode = v)),
  uts: string((body, v) => (body.HostConfig.UTSMode = v)),
  userns: string((body, v) => (body.HostConfig.UsernsMode = v)),
  cgroupns: string((body, v) => (body.HostConfig.CgroupnsMode = v)),
};

/**
 * The create request for `docker run <args>` with the plan's variables, or why the CLI must
 * run it. `args` is what planDockerRun returns: flags (`--flag value` as the plan writes
 * them, `--key=value` for parameters), the image, then the command's words.
 */
export function planDockerCreate(
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): DockerCreatePlan {
  const body: CreateBody = { Image: '', Env: [], Labels: {}, HostConfig: {} };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('-')) break;
    let flag: string;
    let value: string;
    if (SPLIT_FLAGS.has(arg)) {
      flag = arg;
      value = args[++i] ?? '';
    } else if (arg === '--privileged') {
      flag = arg;
      value = 'true';
    } else {
      const [key, given] = splitOnce(arg, '=');
      if (given === undefined) return cli(`docker run option '${arg}' takes no value here`);
      flag = key;
      value = given;
    }
    if (flag === '--name') continue;
    // `--net` is the CLI's old name of `--network`; `--e=x` is no flag to the CLI either.
    const long = flag.startsWith('--')
      ? flag === '--net'
        ? 'network'
        : flag.slice(2)
      : (SHORT[flag.slice(1)] ?? flag);
    const apply = FLAGS[long];
    if (apply === undefined)
      return cli(`docker run option '--${long}' has no Engine API translation here`);
    const refused = apply(body, value, env);
    if (refused !== undefined) return cli(`docker run option '--${long}': ${refused}`);
  }
  const image = args[i];
  if (image === undefined || image === '') return cli('no image');
  body.Image = image;
  const command = args.slice(i + 1);
  // No words: the image's default command (an empty Cmd would override it with nothing).
  if (command.length > 0) body.Cmd = command;
  return { kind: 'api', name, body, isTty: body.Tty === true };
}

function cli(reason: string): DockerCreatePlan {
  return { kind: 'cli', reason };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function string(set: (body: CreateBody, value: string) => unknown): Apply {
  return (body, value) => {
    set(body, value);
    return undefined;
  };
}

function integer(set: (body: CreateBody, value: number) => unknown): Apply {
  return (body, value) => {
    if (!/^-?\d{1,18}$/.test(value)) return `'${value}' is not an integer`;
    set(body, Number(value));
    return undefined;
  };
}

/** Go's strconv.ParseBool, which the CLI's flags use. */
function boolean(set: (body: CreateBody, value: boolean) => unknown): Apply {
  return (body, value) => {
    if (/^(1|t|T|TRUE|true|True)$/.test(value)) set(body, true);
    else if (/^(0|f|F|FALSE|false|False)$/.test(value)) set(body, false);
    else return `'${value}' is not a boolean`;
    return undefined;
  };
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** A size as the CLI reads it (docker/go-units RAMInBytes): binary units, b/k/m/g/t. */
function bytes(set: (body: CreateBody, value: number) => unknown): Apply {
  return (body, value) => {
    const match = /^(\d+(?:\.\d+)?) ?([bkmgt]?)i?b?$/i.exec(value);
    if (match === null) return `size '${value}'`;
    set(body, Math.trunc(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1)));
    return undefined;
  };
}

function list(
  field:
    | 'VolumesFrom'
    | 'CapAdd'
    | 'CapDrop'
    | 'Dns'
    | 'DnsSearch'
    | 'DnsOptions'
    | 'ExtraHosts'
    | 'GroupAdd'
    | 'SecurityOpt',
): Apply {
  return (body, value) => {
    body.HostConfig[field] = [...(body.HostConfig[field] ?? []), value];
    return undefined;
  };
}

/** `[ip:]host:container[/proto]`, `container[/proto]`; ranges are left to the CLI. */
function parsePublish(
  value: string,
): { key: string; hostIp: string; hostPort: string } | undefined {
  const match =
    /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{0,5}):)?(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(value);
  if (match === null) return undefined;
  return {
    key: `${match[3]}/${match[4] ?? 'tcp'}`,
    hostIp: match[1] ?? '',
    hostPort: match[2] ?? '',
  };
}
