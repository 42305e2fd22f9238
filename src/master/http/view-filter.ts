// What a caller may see of frameworks, tasks and executors (ACLs view_frameworks, view_tasks,
// view_executors, docs/authorization.md): answers are filtered, not refused, so a principal
// sees only what its ACLs show it. Pure, on the rendered JSON. As Mesos' local authorizer
// judges them: a framework by its user; a task by its own `user` (its command's, else its
// executor's), else its framework's; an executor by its command's user, else its framework's.
import type { Visibility } from '../../runtime/index.js';
import type { ReadonlyBooks } from '../core/books.js';
import { executorKey } from '../core/records.js';

type Json = Record<string, unknown>;

export { type Visibility, visibilityFor } from '../../runtime/index.js';

const asList = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const stringOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;
/** A rendered task's own user, else `frameworkUser`. */
const taskUser = (task: Json, frameworkUser: string | undefined): string | undefined =>
  stringOf(task.user) ?? frameworkUser;
/** A rendered executor's command user, else `frameworkUser`. */
const executorUser = (info: Json | undefined, frameworkUser: string | undefined) =>
  stringOf((info?.command as Json | undefined)?.user) ?? frameworkUser;
const idOf = (value: unknown): string | undefined =>
  typeof value === 'string'
    ? value
    : typeof value === 'object' && value !== null && typeof (value as Json).value === 'string'
      ? ((value as Json).value as string)
      : undefined;

/**
 * The v1 GET_STATE (and GET_FRAMEWORKS, GET_TASKS, GET_EXECUTORS inside it) as `visibility`
 * shows it; `userOf` names a framework's user by id.
 */
export function filterV1(
  body: Json,
  visibility: Visibility,
  userOf: (frameworkId: string | undefined) => string | undefined,
): Json {
  const out: Json = { ...body };
  if (typeof body.get_frameworks === 'object' && body.get_frameworks !== null)
    out.get_frameworks = filterV1Frameworks(body.get_frameworks as Json, visibility);
  if (typeof body.get_tasks === 'object' && body.get_tasks !== null)
    out.get_tasks = filterV1Tasks(body.get_tasks as Json, visibility, userOf);
  if (typeof body.get_executors === 'object' && body.get_executors !== null)
    out.get_executors = filterV1Executors(body.get_executors as Json, visibility, userOf);
  return out;
}

export function filterV1Frameworks(body: Json, visibility: Visibility): Json {
  const keep = (f: Json) =>
    visibility.framework((f.framework_info as Json | undefined)?.user as string | undefined);
  return {
    ...body,
    frameworks: asList(body.frameworks).filter(keep),
    completed_frameworks: asList(body.completed_frameworks).filter(keep),
  };
}

export function filterV1Tasks(
  body: Json,
  visibility: Visibility,
  userOf: (frameworkId: string | undefined) => string | undefined,
): Json {
  const keep = (t: Json) => visibility.task(taskUser(t, userOf(idOf(t.framework_id))));
  const out: Json = { ...body };
  for (const key of ['tasks', 'unreachable_tasks', 'completed_tasks', 'orphan_tasks'])
    if (Array.isArray(body[key])) out[key] = asList(body[key]).filter(keep);
  return out;
}

export function filterV1Executors(
  body: Json,
  visibility: Visibility,
  userOf: (frameworkId: string | undefined) => string | undefined,
): Json {
  const keep = (e: Json) => {
    const info = e.executor_info as Json | undefined;
    return visibility.executor(executorUser(info, userOf(idOf(info?.framework_id))));
  };
  return { ...body, executors: asList(body.executors).filter(keep) };
}

/**
 * Legacy `/master/state` and `/master/frameworks`: frameworks with their tasks and executors.
 * The legacy executor leaves its command's user out (as Mesos' does): `commandUserOf` finds it.
 */
export function filterLegacyFrameworks(
  body: Json,
  visibility: Visibility,
  commandUserOf: (executor: Json) => string | undefined,
): Json {
  const framework = (f: Json): Json => {
    const user = stringOf(f.user);
    const out: Json = { ...f };
    for (const key of ['tasks', 'unreachable_tasks', 'completed_tasks'])
      if (Array.isArray(f[key]))
        out[key] = asList(f[key]).filter((t) => visibility.task(taskUser(t, user)));
    if (Array.isArray(f.executors))
      out.executors = asList(f.executors).filter((e) =>
        visibility.executor(commandUserOf(e) ?? user),
      );
    return out;
  };
  const keep = (f: Json) => visibility.framework(stringOf(f.user));
  const out: Json = { ...body };
  for (const key of ['frameworks', 'completed_frameworks'])
    if (Array.isArray(body[key])) out[key] = asList(body[key]).filter(keep).map(framework);
  // Orphans and unregistered frameworks name no user: shown only to those who see all.
  if (Array.isArray(body.orphan_tasks) && !visibility.task(undefined)) out.orphan_tasks = [];
  return out;
}

/** Legacy `/master/tasks`: each task by its own user, else its framework's. */
export function filterLegacyTasks(
  body: Json,
  visibility: Visibility,
  userOf: (frameworkId: string | undefined) => string | undefined,
): Json {
  return {
    ...body,
    tasks: asList(body.tasks).filter((t) =>
      visibility.task(taskUser(t, userOf(idOf(t.framework_id)))),
    ),
  };
}

/** A legacy executor's command user, from the books (by its agent, framework and id). */
export function executorCommandUsers(books: ReadonlyBooks): (executor: Json) => string | undefined {
  return (executor) => {
    const [agentId, frameworkId, executorId] = [
      executor.slave_id,
      executor.framework_id,
      executor.executor_id,
    ].map(stringOf);
    if (agentId === undefined || frameworkId === undefined || executorId === undefined)
      return undefined;
    return books.agents.get(agentId)?.executors.get(executorKey(frameworkId, executorId))?.info
      .command?.user;
  };
}

/** A framework's user by id, for its tasks and executors. */
export function frameworkUsers(
  books: ReadonlyBooks,
): (frameworkId: string | undefined) => string | undefined {
  return (frameworkId) => {
    if (frameworkId === undefined) return undefined;
    return (
      books.frameworks.get(frameworkId)?.info.user ??
      books.completedFrameworks.find((f) => f.id.value === frameworkId)?.info.user
    );
  };
}
