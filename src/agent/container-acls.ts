// Who may see a task's containers on this agent and act in them (Mesos' view_containers and
// nested-container ACLs, docs/authorization.md). The object is the user the container's
// executor runs as: a custom executor's command user, else (a command task's executor) the
// task's command user, else the framework's; a nested container is judged by its root's.
// `agora task exec` is a LAUNCH_NESTED_CONTAINER_SESSION: without these, any principal the
// agent authenticates could run commands inside any task.
import {
  type AclAction,
  type Acls,
  isAuthorized,
  isGoverned,
  requireAuthorized,
  type Visibility,
} from '../runtime/index.js';
import type { CommandInfo, FrameworkInfo, TaskInfo } from '../wire/index.js';
import { executorUserName, frameworkUserName, taskUserName } from './task-user.js';

/** A container id as the calls give it: nested ones name their parent. */
export interface ContainerIdChain {
  readonly value: string;
  readonly parent?: ContainerIdChain;
}

/** The calls on a nested container that Mesos authorizes by its parent's user. */
export type NestedAction = Extract<
  AclAction,
  | 'kill_nested_containers'
  | 'wait_nested_containers'
  | 'remove_nested_containers'
  | 'attach_containers_input'
  | 'attach_containers_output'
>;

/**
 * The user a task's executor runs as, the object of the container ACLs and of view_executors:
 * a custom executor's (its command's, else the framework's: executorUserName), else the
 * command executor's, which runs as its task (taskUserName).
 */
export function executorUser(task: TaskInfo, framework: FrameworkInfo): string | undefined {
  return task.executor !== undefined
    ? executorUserName(task.executor, framework)
    : taskUserName(task, framework);
}

/**
 * Whether a caller with `visibility` (undefined: it sees everything) sees a task: its
 * framework by the framework's user (view_frameworks), its executor by the executor's
 * (view_executors), and the task by its own user (view_tasks), as Mesos' local authorizer
 * judges each: the task's command user, else its executor's command user, else the framework's.
 */
export function isTaskShown(
  visibility: Visibility | undefined,
  task: TaskInfo,
  framework: FrameworkInfo,
): boolean {
  if (visibility === undefined) return true;
  const executor = executorUser(task, framework);
  return (
    visibility.framework(frameworkUserName(framework)) &&
    visibility.executor(executor) &&
    visibility.task(taskUserName(task, framework))
  );
}

/** Nesting deeper than this is not followed (Mesos nests a few levels at most). */
const MAX_DEPTH = 32;

export interface ContainerAclsOptions {
  readonly acls: Acls;
  /** The user of the top-level container (a task's or a standalone one) with this id. */
  readonly userOf: (containerIdValue: string) => string | undefined;
  /** The parent of a nested container the agent runs, when a call names it without one. */
  readonly parentOf: (containerIdValue: string) => ContainerIdChain | undefined;
}

export class ContainerAcls {
  constructor(private readonly options: ContainerAclsOptions) {}

  /** Whether `principal` may see the container with this id (GET_CONTAINERS, /containers). */
  mayView(principal: string | undefined, containerIdValue: string): boolean {
    const { acls } = this.options;
    if (!isGoverned(acls, 'view_containers')) return true;
    return isAuthorized(
      acls,
      'view_containers',
      principal,
      this.rootUser({ value: containerIdValue }),
    );
  }

  /** 403 unless `principal` may `action` on the nested container `id`. */
  requireOnNested(action: NestedAction, principal: string | undefined, id: ContainerIdChain): void {
    requireAuthorized(this.options.acls, action, principal, this.rootUser(id));
  }

  /**
   * 403 unless `principal` may launch a nested container (or session) under `parent`: Mesos
   * asks both that the parent's user allows it and, when a command is given, that the
   * command's user (ANY when it names none) does.
   */
  requireLaunch(
    kind: 'containers' | 'container_sessions',
    principal: string | undefined,
    parent: ContainerIdChain,
    command: CommandInfo | undefined,
  ): void {
    const { acls } = this.options;
    requireAuthorized(
      acls,
      `launch_nested_${kind}_under_parent_with_user`,
      principal,
      this.rootUser(parent),
    );
    if (command !== undefined)
      requireAuthorized(acls, `launch_nested_${kind}_as_user`, principal, command.user);
  }

  /** The user of `id`'s top-level container, through the parents the agent knows. */
  private rootUser(id: ContainerIdChain): string | undefined {
    let at = id;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const parent = at.parent ?? this.options.parentOf(at.value);
      if (parent === undefined) return this.options.userOf(at.value);
      at = parent;
    }
    return undefined;
  }
}
