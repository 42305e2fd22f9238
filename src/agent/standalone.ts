// Standalone containers (Mesos 1.5+, docs/standalone-containers.md): LAUNCH_CONTAINER
// with no parent runs a command in a container of its own, under the agent's
// isolation (the Mesos containerizer: cgroups limits from its resources where the
// agent uses cgroups), outside any framework and any offer: the master never hears
// of it, so it may overcommit the agent, as Mesos documents. Its sandbox is
// `<work_dir>/containers/<id>`, never garbage collected; its records are those of a
// nested container (nested-records.ts, kind 'standalone') under `<work_dir>/meta/
// containers/<id>`, which is also the containerizer's runtime directory for it: a
// restarted agent hands them to the containerizer's recovery as known containers
// (so none is taken for a stray), re-attaches to those running and reports how the
// others ended. REMOVE_CONTAINER forgets one that ended (its records, not its sandbox).
// As in Mesos' agent, it runs as its command's user under --switch_user (the agent's
// own otherwise), its `limits` raise the cgroup's CPU quota and memory limit above its
// resources, and each call on one is checked against the agent's ACLs
// (launch/kill/wait/remove/view_standalone_containers, objects given implicitly).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Container,
  Containerizer,
  KnownContainer,
  ResourceLimits,
  Termination,
} from '../containerizer/index.js';
import { Resources } from '../resources/index.js';
import {
  type AclAction,
  type Acls,
  HttpError,
  isAuthorized,
  PERMISSIVE_ACLS,
  requireAuthorized,
} from '../runtime/index.js';
import {
  addCommandEnvironment,
  BadRequestError,
  type CommandInfo,
  type NestedContainerID,
  type Resource,
} from '../wire/index.js';
import {
  nestedRecordDir,
  readNestedRecords,
  removeNestedRecord,
  writeNestedConfig,
  writeNestedTermination,
} from './nested-records.js';
import { checkIdValue } from './session-io.js';
import type { NestedParent } from './sessions.js';
import { runAsUser, switchUserTo, type UserSwitch } from './task-user.js';

/** Standalone containers running (or starting) at once on one agent. */
export const MAX_STANDALONE = 64;
/** The largest value of one resource: past any host, and still exact as a number. */
const MAX_SCALAR = 1e12;

export interface StandaloneLaunch {
  readonly container_id: NestedContainerID;
  readonly command?: CommandInfo;
  readonly resources?: readonly Resource[];
  readonly limits?: Readonly<Record<string, { readonly value: number }>>;
  readonly container?: Readonly<Record<string, unknown>>;
}

/** One standalone container: running under the containerizer, or ended and not removed yet. */
type Standalone =
  | {
      readonly kind: 'running';
      readonly dir: string;
      readonly container: Container;
      readonly ended: Promise<Termination>;
    }
  | { readonly kind: 'ended'; readonly dir: string; readonly termination: Termination };

export interface StandaloneOptions extends UserSwitch {
  readonly containerizer: Containerizer;
  /** The agent's --acls; none: every caller may. */
  readonly acls?: Acls;
  readonly workDir: string;
  /** Whether a task's container or a nested container has this id already. */
  readonly isIdTaken: (idValue: string) => boolean;
  readonly max?: number;
}

export class StandaloneContainers {
  private readonly containers = new Map<string, Standalone>();
  /** Launches between their check and their start: a retried launch is told 'exists'. */
  private readonly launching = new Set<string>();

  constructor(private readonly options: StandaloneOptions) {}

  /** Whether `id` names a standalone container this agent knows (running or ended). */
  has(id: NestedContainerID): boolean {
    return id.parent === undefined && this.containers.has(id.value);
  }

  /** 403 unless `principal` may do `action` (objects are implicit: only ANY or NONE apply). */
  authorize(
    action: Extract<AclAction, `${string}_standalone_containers`>,
    principal: string | undefined,
  ): void {
    requireAuthorized(this.options.acls ?? PERMISSIVE_ACLS, action, principal, undefined);
  }

  /** Whether `principal` may see them (GET_CONTAINERS leaves them out otherwise, as Mesos). */
  mayView(principal: string | undefined): boolean {
    const acls = this.options.acls ?? PERMISSIVE_ACLS;
    return isAuthorized(acls, 'view_standalone_containers', principal, undefined);
  }

  /** LAUNCH_CONTAINER without a parent: 'exists' when the id is taken (Mesos answers 202). */
  async launch(
    body: StandaloneLaunch,
    field: string,
    principal: string | undefined,
  ): Promise<'launched' | 'exists'> {
    this.authorize('launch_standalone_containers', principal);
    const id = body.container_id;
    checkIdValue(id, field);
    const { resources, limits } = parseLaunch(body, field);
    if (
      this.containers.has(id.value) ||
      this.launching.has(id.value) ||
      this.options.isIdTaken(id.value)
    )
      return 'exists';
    const max = this.options.max ?? MAX_STANDALONE;
    if (this.runningCount() + this.launching.size >= max)
      throw new HttpError('UNAVAILABLE', `${max} standalone containers are running; try later`);
    this.launching.add(id.value);
    try {
      await this.start(id.value, body, { resources, limits }, field);
    } finally {
      this.launching.delete(id.value);
    }
    return 'launched';
  }

  private async start(
    idValue: string,
    body: StandaloneLaunch,
    { resources, limits }: { readonly resources: Resources; readonly limits: ResourceLimits },
    field: string,
  ): Promise<void> {
    const { containerizer } = this.options;
    const sandbox = this.sandboxOf(idValue);
    const dir = this.recordDir(idValue);
    // Before anything is made or recorded: a user this host lacks fails the call, leaving nothing.
    try {
      runAsUser(body.command?.user, this.options);
    } catch (error) {
      throw new BadRequestError(`${field}.command.user`, (error as Error).message);
    }
    mkdirSync(sandbox, { recursive: true });
    const user = switchUserTo(body.command?.user, sandbox, this.options);
    // Recorded before it runs, so that an agent killed from here on leaves a trace of it.
    writeNestedConfig(dir, {
      kind: 'standalone',
      sandbox,
      resources: body.resources ?? [],
      ...(body.container !== undefined ? { container: body.container } : {}),
    });
    const environment = addCommandEnvironment(this.environmentOf(idValue), body.command);
    let container: Container;
    try {
      container = await containerizer.launch({
        containerId: idValue,
        sandbox,
        runtimeDir: dir,
        command: body.command ?? { shell: true, value: '/bin/sh' },
        environment,
        resources,
        limits,
        ...(user !== undefined ? { user } : {}),
        ...(body.container !== undefined ? { container: body.container } : {}),
      });
    } catch (error) {
      await containerizer.cleanup(idValue).catch(() => undefined);
      removeNestedRecord(dir);
      throw new BadRequestError(field, `cannot start the container: ${(error as Error).message}`);
    }
    this.watch(idValue, dir, container);
  }

  private watch(idValue: string, dir: string, container: Container): void {
    const ended = container.terminated.then(async (termination) => {
      writeNestedTermination(dir, termination);
      await this.options.containerizer.cleanup(idValue).catch(() => undefined);
      // REMOVE_CONTAINER cannot have come between: it refuses a running container.
      this.containers.set(idValue, { kind: 'ended', dir, termination });
      return termination;
    });
    this.containers.set(idValue, { kind: 'running', dir, container, ended });
  }

  /** A running one as the parent of nested containers (sessions.ts). */
  parent(idValue: string): NestedParent | undefined {
    const known = this.containers.get(idValue);
    return known?.kind === 'running' ? this.asParent(idValue, known) : undefined;
  }

  /** Every one known, as parents whose nested containers a restarted agent recovers. */
  parents(): NestedParent[] {
    return [...this.containers].map(([idValue, known]) => this.asParent(idValue, known));
  }

  /** The environment its command gets (before the command's own), and its nested ones'. */
  environmentOf(idValue: string): Record<string, string> {
    const sandbox = this.sandboxOf(idValue);
    return {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      MESOS_SANDBOX: sandbox,
      MESOS_DIRECTORY: sandbox,
    };
  }

  /** Where its records go, and its nested containers' under them (`containers/<id>`). */
  recordDir(idValue: string): string {
    return nestedRecordDir(join(this.options.workDir, 'meta'), idValue);
  }

  private sandboxOf(idValue: string): string {
    return join(this.options.workDir, 'containers', idValue);
  }

  private asParent(idValue: string, known: Standalone): NestedParent {
    return {
      containerIdValue: idValue,
      sandbox: this.sandboxOf(idValue),
      container: known.kind === 'running' ? known.container : undefined,
    };
  }

  /** WAIT_CONTAINER: how it ended, once it has. */
  async wait(id: NestedContainerID, principal: string | undefined): Promise<Termination> {
    this.authorize('wait_standalone_containers', principal);
    const known = this.containers.get(id.value);
    if (known === undefined) throw new HttpError('NOT_FOUND', `no container ${id.value}`);
    return known.kind === 'ended' ? known.termination : known.ended;
  }

  /** KILL_CONTAINER: `signal` to every process of the container. */
  kill(id: NestedContainerID, signal: NodeJS.Signals): void {
    const known = this.containers.get(id.value);
    if (known?.kind !== 'running')
      throw new HttpError('NOT_FOUND', `no running container ${id.value}`);
    known.container.signal(signal);
  }

  /** REMOVE_CONTAINER: forgets one that ended, its records with it; its sandbox stays. */
  remove(id: NestedContainerID): void {
    const known = this.containers.get(id.value);
    if (known === undefined) throw new HttpError('NOT_FOUND', `no container ${id.value}`);
    if (known.kind === 'running')
      throw new HttpError('CONFLICT', `container ${id.value} is still running; kill it first`);
    this.containers.delete(id.value);
    removeNestedRecord(known.dir);
  }

  /** The running ones (GET_CONTAINERS with show_standalone), with their PIDs. */
  running(): { readonly idValue: string; readonly pid: number }[] {
    const out: { idValue: string; pid: number }[] = [];
    for (const [idValue, known] of this.containers)
      if (known.kind === 'running') out.push({ idValue, pid: known.container.pid });
    return out;
  }

  /**
   * The previous agent's standalone containers still to be told about, for the
   * containerizer's recovery (with the tasks'); those that ended then are remembered now.
   */
  known(): KnownContainer[] {
    const out: KnownContainer[] = [];
    for (const record of readNestedRecords(join(this.options.workDir, 'meta'))) {
      if (record.config.kind !== 'standalone') continue;
      if (record.termination !== undefined) {
        const ended = { kind: 'ended', dir: record.dir, termination: record.termination } as const;
        this.containers.set(record.id, ended);
        continue;
      }
      out.push({
        containerId: record.id,
        runtimeDir: record.dir,
        sandbox: record.config.sandbox,
        resources: Resources.fromWire(record.config.resources),
        ...(record.config.container !== undefined ? { container: record.config.container } : {}),
      });
    }
    return out;
  }

  /** What the containerizer's recovery found of them: watched again, or ended meanwhile. */
  async recover(
    known: readonly KnownContainer[],
    found: ReadonlyMap<string, Container | Termination>,
  ): Promise<void> {
    for (const entry of known) {
      const outcome = found.get(entry.containerId) ?? {
        exitCode: null,
        signal: null,
        isUnknown: true,
      };
      if ('pid' in outcome) {
        this.watch(entry.containerId, entry.runtimeDir, outcome);
        continue;
      }
      writeNestedTermination(entry.runtimeDir, outcome);
      await this.options.containerizer.cleanup(entry.containerId).catch(() => undefined);
      this.containers.set(entry.containerId, {
        kind: 'ended',
        dir: entry.runtimeDir,
        termination: outcome,
      });
    }
  }

  /**
   * The agent stops: kills every one and waits for their ends (recorded, for the next
   * agent), unless it stops leaving its containers running (`isDetaching`).
   */
  async stop(isDetaching: boolean): Promise<void> {
    if (isDetaching) return;
    const ends: Promise<Termination>[] = [];
    for (const known of this.containers.values())
      if (known.kind === 'running') {
        known.container.signal('SIGKILL');
        ends.push(known.ended);
      }
    await Promise.all(ends);
  }

  private runningCount(): number {
    let count = 0;
    for (const known of this.containers.values()) if (known.kind === 'running') count += 1;
    return count;
  }
}

/** Limits a standalone container may have above its resources (Mesos: cpus and mem). */
const LIMITED = ['cpus', 'mem'] as const;

/**
 * A standalone launch's ContainerInfo, resources and limits, checked: MESOS only (Mesos
 * answers a DOCKER one "use docker directly"), each scalar finite and bounded, limits only
 * of cpus and mem and never below what is requested.
 */
export function parseLaunch(
  body: StandaloneLaunch,
  field: string,
): { readonly resources: Resources; readonly limits: ResourceLimits } {
  const type = body.container?.type;
  if (type === 'DOCKER')
    throw new BadRequestError(
      `${field}.container.type`,
      'a standalone container cannot be DOCKER: use docker directly',
    );
  if (type !== undefined && type !== 'MESOS')
    throw new BadRequestError(`${field}.container.type`, 'must be MESOS');
  for (const [i, resource] of (body.resources ?? []).entries()) {
    const value = resource.scalar?.value;
    if (value !== undefined && value > MAX_SCALAR)
      throw new BadRequestError(
        `${field}.resources[${i}].scalar.value`,
        `must be at most ${MAX_SCALAR}`,
      );
  }
  let resources: Resources;
  try {
    resources = Resources.fromWire(body.resources ?? []);
  } catch (error) {
    throw new BadRequestError(`${field}.resources`, (error as Error).message);
  }
  const limits: { cpus?: number; memMb?: number } = {};
  for (const [name, { value }] of Object.entries(body.limits ?? {})) {
    const at = `${field}.limits.${name}`;
    if (!(LIMITED as readonly string[]).includes(name))
      throw new BadRequestError(at, `only ${LIMITED.join(' and ')} may have a limit`);
    if (value > MAX_SCALAR) throw new BadRequestError(at, `must be at most ${MAX_SCALAR}`);
    const requested = resources.scalar(name);
    if (value < requested)
      throw new BadRequestError(at, `${value} is below the ${requested} requested`);
    if (name === 'cpus') limits.cpus = value;
    else limits.memMb = value;
  }
  return { resources, limits };
}
