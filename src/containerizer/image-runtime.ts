// A Mesos container with an image (`container.type: MESOS`, `mesos.image` of
// type DOCKER), as Mesos' unified containerizer runs it (docs/container-image.md,
// docs/isolators/docker-runtime.md): which image the task names and where a
// local registry keeps it (`docker save` archives named `<repository>:<tag>.tar`
// under --docker_registry), the image's runtime configuration (Entrypoint, Cmd,
// Env, WorkingDir) and how it combines with the task's CommandInfo, and the
// argv that mounts the container's filesystem in a mount namespace of its own
// and changes root into it. Pure: every check a task can fail is made here and
// named in the error.
import { isAbsolute, join, normalize, relative } from 'node:path';
import { z } from 'zod';
import type { CommandInfo } from '../wire/index.js';
import { CONTAINER_SANDBOX } from './docker-plan.js';
import type { VolumeMount } from './types.js';

/** Docker's PATH for an image that sets none (as `docker run` gives it). */
export const DEFAULT_IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A Docker image reference the local registry can serve: no registry host, a tag or digest. */
export interface ImageReference {
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const text = (max: number) => z.string().max(max);
const ImageSchema = z.object({
  type: z.enum(['DOCKER', 'APPC']),
  docker: z.object({ name: text(1024).min(1) }).optional(),
  appc: z
    .object({ name: text(1024) })
    .loose()
    .optional(),
  cached: z.boolean().optional(),
});

/**
 * The image a task's ContainerInfo asks the Mesos containerizer for: undefined
 * when it asks for none (the host's filesystem), an error for what cannot run here.
 */
export function imageOf(
  container: Readonly<Record<string, unknown>> | undefined,
): { readonly kind: 'none' } | { readonly kind: 'docker'; readonly name: string } {
  const mesos = container?.mesos;
  if (typeof mesos !== 'object' || mesos === null || !('image' in mesos)) return { kind: 'none' };
  const parsed = ImageSchema.safeParse((mesos as Record<string, unknown>).image);
  if (!parsed.success)
    throw new Error(
      `'container.mesos.image' is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const image = parsed.data;
  if (image.type === 'APPC')
    throw new Error("'container.mesos.image' of type APPC is not supported here (only DOCKER)");
  if (image.docker === undefined)
    throw new Error("'container.mesos.image.docker.name' is required for an image of type DOCKER");
  return { kind: 'docker', name: image.docker.name };
}

/** Whether a task's ContainerInfo names an image for the Mesos containerizer. */
export function hasImage(container: Readonly<Record<string, unknown>> | undefined): boolean {
  const mesos = container?.mesos;
  return typeof mesos === 'object' && mesos !== null && 'image' in mesos;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

/** `[REGISTRY_HOST[:PORT]/]REPOSITORY[:TAG|@DIGEST]`, as `docker pull` reads it; local only. */
export function parseImageReference(name: string): ImageReference {
  const at = name.indexOf('@');
  const digest = at === -1 ? undefined : name.slice(at + 1);
  const rest = at === -1 ? name : name.slice(0, at);
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  const tag = colon > slash ? rest.slice(colon + 1) : undefined;
  const repository = colon > slash ? rest.slice(0, colon) : rest;
  const components = repository.split('/');
  const first = components[0] ?? '';
  const isHost =
    /^[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::\d{1,5})?$/.test(first) &&
    (first.includes('.') || first.includes(':') || first === 'localhost');
  if (components.length > 1 && isHost)
    throw new Error(
      `image '${name}' names a registry host ('${first}'); this agent pulls only from its local --docker_registry directory`,
    );
  if (!components.every((c) => COMPONENT.test(c)))
    throw new Error(`image '${name}': invalid repository name '${repository}'`);
  if (tag !== undefined && !TAG.test(tag)) throw new Error(`image '${name}': invalid tag`);
  if (digest !== undefined && !DIGEST.test(digest))
    throw new Error(`image '${name}': invalid digest`);
  return {
    repository,
    ...(digest !== undefined ? { digest } : { tag: tag ?? 'latest' }),
  };
}

/** Where a local registry may keep the image's archive, in the order they are tried. */
export function registryArchivePaths(registryDir: string, reference: ImageReference): string[] {
  const suffix =
    reference.digest !== undefined ? `@${reference.digest}` : `:${reference.tag ?? 'latest'}`;
  const names = [reference.repository];
  // Docker Hub's official images are `library/<name>` and saved as plain `<name>` too.
  if (reference.repository.startsWith('library/')) names.push(reference.repository.slice(8));
  else if (!reference.repository.includes('/')) names.push(`library/${reference.repository}`);
  return names.map((n) => join(registryDir, `${n}${suffix}.tar`));
}

/** The parts of an image's configuration (`docker inspect`'s Config) the docker/runtime isolator applies. */
export interface ImageConfig {
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
  readonly env: readonly string[];
  readonly workingDir: string | undefined;
}

const StringList = z.array(text(65_536)).max(4096).nullable().optional();
const ConfigSchema = z
  .object({
    config: z
      .object({
        Entrypoint: StringList,
        Cmd: StringList,
        Env: StringList,
        WorkingDir: text(4096).nullable().optional(),
      })
      .loose()
      .nullable()
      .optional(),
  })
  .loose();

/** Reads an image configuration file (the `Config` a `docker save` manifest names). */
export function parseImageConfig(json: unknown): ImageConfig {
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) throw new Error('the image configuration is not a Docker image config');
  const config = parsed.data.config ?? {};
  const list = (value: readonly string[] | null | undefined) =>
    value === null || value === undefined || value.length === 0 ? undefined : value;
  return {
    entrypoint: list(config.Entrypoint),
    cmd: list(config.Cmd),
    env: config.Env ?? [],
    workingDir:
      config.WorkingDir === null || config.WorkingDir === undefined || config.WorkingDir === ''
        ? undefined
        : config.WorkingDir,
  };
}

/**
 * The argv the task runs inside its image: the docker/runtime isolator's table. A shell
 * command is `/bin/sh -c value`; a value is the executable (its arguments after it, the
 * first being argv[0]); no value runs the image's Entrypoint, then the task's arguments
 * or else the image's Cmd.
 */
export function imageCommand(config: ImageConfig, command: CommandInfo): readonly string[] {
  const isShell = command.shell ?? true;
  const value = command.value;
  if (isShell) {
    if (value === undefined)
      throw new Error('a shell command needs a value (CommandInfo.value) to run in an image');
    return ['/bin/sh', '-c', value];
  }
  if (value !== undefined && value !== '') return [value, ...(command.arguments ?? []).slice(1)];
  const args = command.arguments ?? [];
  const { entrypoint, cmd } = config;
  let argv: readonly string[];
  if (entrypoint !== undefined) argv = [...entrypoint, ...(args.length > 0 ? args : (cmd ?? []))];
  else if (cmd !== undefined) argv = args.length > 0 ? [...cmd.slice(0, 1), ...args] : cmd;
  else throw new Error('the image has neither Entrypoint nor Cmd, and the task gives no command');
  return argv;
}

/**
 * The task's environment inside its image: the image's Env, then the agent's variables
 * (MESOS_*) and the task's own, which win; the sandbox is where the container sees it.
 */
export function imageEnvironment(
  config: ImageConfig,
  environment: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_IMAGE_PATH };
  for (const entry of config.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  Object.assign(env, environment, { MESOS_SANDBOX: CONTAINER_SANDBOX });
  return env;
}

/**
 * A bind mount the container's mount namespace makes: host path, where, read-only or not.
 * Where is a directory `base` the agent made (the sandbox, the rootfs) and a `path` below
 * it that the task's files may shape (fetched archives, the image): the mount script walks
 * it a component at a time, refusing links, rather than `mkdir -p` the joined path as
 * root.
 */
export interface BindMount {
  readonly source: BindSource;
  readonly base: string;
  /** Relative to `base`, normalized, never empty, never `..`. */
  readonly path: string;
  readonly isReadOnly: boolean;
}

/**
 * What a bind mount shows: a host path, mounted by name (the operator's or the agent's), or
 * a path below a sandbox, walked a component at a time refusing links like the target and
 * bound through the descriptor the walk opened (`/proc/self/fd/N`): a task group's sibling
 * may swap a directory of its sandbox for a link at any moment, and a mount by name would
 * follow it, as root, to anywhere on the host.
 */
export type BindSource =
  | { readonly kind: 'host'; readonly path: string }
  /** `path` is relative to `base`, normalized, never `..`. */
  | { readonly kind: 'sandbox'; readonly base: string; readonly path: string };

function bindSource(volume: VolumeMount): BindSource {
  if (volume.sandboxBase === undefined) return { kind: 'host', path: volume.hostPath };
  const path = relative(volume.sandboxBase, volume.hostPath);
  if (path.startsWith('..') || isAbsolute(path))
    throw new Error(`Volume source '${volume.hostPath}' is not inside '${volume.sandboxBase}'`);
  return { kind: 'sandbox', base: volume.sandboxBase, path: path === '' ? '.' : path };
}

/**
 * Where each persistent volume is bound: a relative container path under the sandbox (as
 * the container sees it), an absolute one in the image's rootfs. Without an image, only
 * relative paths, under the host sandbox. Throws for a path out of the sandbox or root.
 */
export function volumeBinds(
  volumes: readonly VolumeMount[],
  where: { readonly sandbox: string; readonly rootfs: string | undefined },
): BindMount[] {
  return volumes.map((volume) => {
    const path = volume.containerPath;
    const isReadOnly = volume.mode === 'RO';
    const source = bindSource(volume);
    if (isAbsolute(path)) {
      if (where.rootfs === undefined)
        throw new Error(
          `Volume container path '${path}' is absolute: a command task without an image needs a relative one`,
        );
      const inside = normalize(path);
      if (inside === '/' || inside.split('/').includes('..'))
        throw new Error(`Volume container path '${path}' is not a directory below /`);
      return { source, base: where.rootfs, path: inside.slice(1), isReadOnly };
    }
    const base = where.rootfs === undefined ? where.sandbox : join(where.rootfs, CONTAINER_SANDBOX);
    const below = relative(base, join(base, path));
    if (below.startsWith('..') || below === '')
      throw new Error(`Volume container path '${path}' escapes the sandbox`);
    return where.rootfs === undefined
      ? { source, base, path: below, isReadOnly }
      : // From the root, so the walk also refuses a link the image put on the sandbox's way.
        {
          source,
          base: where.rootfs,
          path: join(CONTAINER_SANDBOX.slice(1), below),
          isReadOnly,
        };
  });
}

/** How the container's root filesystem is made ready before the task runs in it. */
export type RootfsMount =
  /** An overlay of the image (read-only) and the container's own upper directory. */
  | {
      readonly kind: 'overlay';
      readonly rootfs: string;
      readonly lower: string;
      readonly upper: string;
      readonly work: string;
    }
  /** A copy of the image, already made: only the sandbox and /proc go into it. */
  | { readonly kind: 'copy'; readonly rootfs: string };

/**
 * The shell function `enter BASE PATH` (cd into BASE/PATH refusing links), for the scripts that
 * mount from or onto a path a task may shape (this one, docker-volume-staging.ts).
 */
export const ENTER_FUNCTION: readonly string[] = [
  // enter BASE PATH: cd into BASE/PATH, making each missing directory of PATH, refusing a
  // link at any of them. The image and the sandbox (fetched archives, a task group's
  // siblings) are the task's to shape, and this runs as root on the host's root: `mkdir -p`
  // or a mount on the joined path would follow a planted link out of the container. The
  // walk goes by `cd -P` one name at a time, mkdir without -p fails on a link made since
  // the check, and the physical path is compared at the end; the mount then targets `.`.
  'enter() {',
  '  cd -P "$1" || return 1',
  '  want=$(pwd -P); rest=$2',
  '  while [ -n "$rest" ]; do',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '    part=${rest%%/*}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '    case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac',
  '    if [ -z "$part" ] || [ "$part" = . ]; then continue; fi',
  `    if [ "$part" = .. ] || [ -L "$part" ]; then echo "agora: '$2' passes through a link or '..' at '$part'; not mounting there" >&2; return 1; fi`,
  '    if [ ! -d "$part" ]; then mkdir "$part" || return 1; fi',
  '    cd -P "$part" || return 1',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '    want=${want%/}/$part',
  '  done',
  `  if [ "$(pwd -P)" != "$want" ]; then echo "agora: '$2' moved while being made; not mounting there" >&2; return 1; fi`,
  '}',
];

const FS_SCRIPT = [
  // Runs as host /bin/sh in the container's own mount namespace (unshare --mount, private
  // propagation): what it mounts is the container's alone and goes away with it, so a
  // crashed agent leaves no mount on the host.
  'set -e',
  // The host's tools for the mounts, whatever PATH the task has; its own PATH is restored.
  'task_path=$PATH; PATH=/usr/sbin:/usr/bin:/sbin:/bin',
  ...ENTER_FUNCTION,
  // bind SOURCE BASE PATH MODE|- [rbind|bind] [SOURCE_BASE]: in a subshell, so the walks' cd
  // stays in it. With SOURCE_BASE, SOURCE is below it (a sandbox path, BindSource): walked as
  // the target is, opened as descriptor 5 where the walk ends, and that is what is mounted,
  // so a link swapped in after the walk is never followed.
  'bind() (',
  '  src=$1',
  '  if [ -n "$6" ]; then',
  '    enter "$6" "$1" && exec 5<. || exit 1',
  '    src=/proc/self/fd/5',
  '  fi',
  '  enter "$2" "$3" || exit 1',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '  mount -c "--${5:-bind}" "$src" . || exit 1',
  '  if [ "$4" = RO ]; then',
  // The mount hides what `.` was; step out and back in to stand on it, checked again.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '    here=$(pwd -P); cd -P .. && cd -P "${here##*/}" || exit 1',
  '    [ "$(pwd -P)" = "$here" ] && mount -c -o remount,bind,ro . || exit 1',
  '  fi',
  ')',
  'unshare=$1; mode=$2; rootfs=$3; overlay=$4; sandbox=$5; wd=$6; n=$7; shift 7',
  'if [ "$mode" = overlay ]; then mount -t overlay overlay -o "$overlay" "$rootfs"; fi',
  'if [ -n "$rootfs" ]; then',
  `  bind "$sandbox" "$rootfs" "${CONTAINER_SANDBOX.slice(1)}" RW`,
  '  (enter "$rootfs" proc && mount -c -t proc proc .) || exit 1',
  '  bind /dev "$rootfs" dev RW rbind',
  '  (enter "$rootfs" tmp && enter "$rootfs" "$wd") || exit 1',
  'fi',
  'while [ "$n" -gt 0 ]; do',
  '  bind "$2" "$3" "$4" "$5" bind "$1"',
  '  shift 5; n=$((n - 1))',
  'done',
  'shift',
  'set +e; PATH=$task_path',
  // unshare with no namespace flag only changes root and directory, then execs the task:
  // its PID stays the one the shim reported.
  'if [ -n "$rootfs" ]; then exec "$unshare" --root="$rootfs" --wd="$wd" -- "$@"; fi',
  'exec "$@"',
].join('\n');

/**
 * The argv that makes the container's filesystem (rootfs, sandbox, volumes) in a mount
 * namespace of its own and then runs `command` there: in the image's root when there is
 * one, in `workingDir` (a path inside it).
 */
export function filesystemArgv(options: {
  readonly unshare: string;
  readonly rootfs: RootfsMount | undefined;
  readonly sandbox: string;
  readonly workingDir: string;
  readonly binds: readonly BindMount[];
  readonly command: readonly string[];
}): readonly string[] {
  const { rootfs } = options;
  let overlay = '';
  if (rootfs?.kind === 'overlay') {
    for (const path of [rootfs.lower, rootfs.upper, rootfs.work])
      if (/[,:\\]/.test(path)) throw new Error(`overlay path '${path}' contains ',', ':' or '\\'`);
    overlay = `lowerdir=${rootfs.lower},upperdir=${rootfs.upper},workdir=${rootfs.work}`;
  }
  return [
    options.unshare,
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    FS_SCRIPT,
    'agora-fs',
    options.unshare,
    rootfs?.kind ?? 'none',
    rootfs?.rootfs ?? '',
    overlay,
    options.sandbox,
    options.workingDir,
    String(options.binds.length),
    ...options.binds.flatMap((b) => [
      b.source.kind === 'sandbox' ? b.source.base : '',
      b.source.path,
      b.base,
      b.path,
      b.isReadOnly ? 'RO' : 'RW',
    ]),
    '--',
    ...options.command,
  ];
}
