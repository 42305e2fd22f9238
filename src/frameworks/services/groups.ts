// Marathon's groups (docs/docs/application-groups.md): a tree of apps under a
// path, written with POST/PUT /v2/groups. Here a group is only its apps' ids
// (the tree is derived from them), so a group body is flattened into app
// definitions with absolute ids, each checked as POST /v2/apps checks one;
// a group's dependencies become every app's in it. Also the dependency graph's
// cycle check. Pure.
import {
  type AppDefinition,
  appIdError,
  invalid,
  jsonDepth,
  LIMITS,
  normalizeAppId,
  type Parsed,
  parseApp,
  type ValidationFailure,
} from './app-definition.js';

/** Bounds of one group body (house rule: sizes, depths, counts). */
export const GROUP_LIMITS = { depth: 8, apps: 1000, groups: 100 } as const;

export interface GroupPlan {
  readonly id: string;
  /** Every app in the tree, absolute ids, in the body's order (depth first). */
  readonly apps: readonly AppDefinition[];
}

/** A group body (POST /v2/groups, PUT /v2/groups/<id>) as the apps it holds. */
export function parseGroup(body: unknown, idFromUrl?: string): Parsed<GroupPlan> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return fail('/', 'a group definition is a JSON object');
  // Apps nest a few levels inside their group: the group tree adds two per level.
  if (jsonDepth(body) > LIMITS.jsonDepth + 2 * GROUP_LIMITS.depth)
    return fail('/', 'nested too deeply');
  const record = body as Record<string, unknown>;
  const rawId = record.id ?? idFromUrl;
  if (typeof rawId !== 'string') return fail('/id', 'a group needs an id such as /shop');
  const id = normalizeAppId(rawId);
  if (idFromUrl !== undefined && id !== idFromUrl)
    return fail('/id', `the body's id differs from the URL's ${idFromUrl}`);
  if (id !== '/' && appIdError(id) !== undefined)
    return fail('/id', appIdError(id) ?? 'not a valid group id');
  const apps: AppDefinition[] = [];
  const counts = { groups: 0 };
  const failure = walk(record, id, '', [], 0, apps, counts);
  if (failure !== undefined) return { ok: false, failure };
  const seen = new Set<string>();
  for (const [i, app] of apps.entries()) {
    if (seen.has(app.id)) return fail(`/apps(${i})/id`, `${app.id} appears twice in the group`);
    seen.add(app.id);
  }
  return { ok: true, value: { id, apps } };
}

function walk(
  group: Record<string, unknown>,
  groupId: string,
  path: string,
  inherited: readonly string[],
  depth: number,
  apps: AppDefinition[],
  counts: { groups: number },
): ValidationFailure | undefined {
  if (depth > GROUP_LIMITS.depth)
    return invalid(path || '/', `groups nest at most ${GROUP_LIMITS.depth} deep`);
  const { apps: rawApps = [], groups: rawGroups = [], dependencies: rawDeps = [] } = group;
  if (!Array.isArray(rawDeps) || !rawDeps.every((d) => typeof d === 'string'))
    return invalid(`${path}/dependencies`, 'a list of app or group ids');
  if (rawDeps.length > LIMITS.dependencies)
    return invalid(`${path}/dependencies`, `at most ${LIMITS.dependencies}`);
  // Relative ids inside a group are relative to the group itself.
  const base = `${groupId === '/' ? '' : groupId}/_`;
  const dependencies = [...inherited, ...rawDeps.map((d) => normalizeAppId(d as string, base))];
  if (!Array.isArray(rawApps)) return invalid(`${path}/apps`, 'a list of app definitions');
  for (const [i, raw] of rawApps.entries()) {
    if (apps.length >= GROUP_LIMITS.apps)
      return invalid(`${path}/apps`, `at most ${GROUP_LIMITS.apps} apps in a group`);
    const at = `${path}/apps(${i})`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return invalid(at, 'an app definition is a JSON object');
    const app = raw as Record<string, unknown>;
    if (typeof app.id !== 'string') return invalid(`${at}/id`, 'an app needs an id');
    const appId = normalizeAppId(app.id, base);
    if (!appId.startsWith(`${groupId === '/' ? '' : groupId}/`))
      return invalid(`${at}/id`, `${appId} is not inside the group ${groupId}`);
    const parsed = parseApp({ ...app, id: appId });
    if (!parsed.ok)
      return {
        message: parsed.failure.message,
        details: parsed.failure.details.map((d) => ({
          path: `${at}${d.path === '/' ? '' : d.path}`,
          errors: d.errors,
        })),
      };
    const merged = [...new Set([...parsed.value.dependencies, ...dependencies])].filter(
      (d) => d !== appId,
    );
    apps.push({ ...parsed.value, dependencies: merged });
  }
  if (!Array.isArray(rawGroups)) return invalid(`${path}/groups`, 'a list of groups');
  for (const [i, raw] of rawGroups.entries()) {
    counts.groups += 1;
    if (counts.groups > GROUP_LIMITS.groups)
      return invalid(`${path}/groups`, `at most ${GROUP_LIMITS.groups} groups`);
    const at = `${path}/groups(${i})`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return invalid(at, 'a group definition is a JSON object');
    const sub = raw as Record<string, unknown>;
    if (typeof sub.id !== 'string') return invalid(`${at}/id`, 'a group needs an id');
    const subId = normalizeAppId(sub.id, base);
    const idError = appIdError(subId);
    if (idError !== undefined) return invalid(`${at}/id`, idError);
    if (!subId.startsWith(`${groupId === '/' ? '' : groupId}/`))
      return invalid(`${at}/id`, `${subId} is not inside the group ${groupId}`);
    const failure = walk(sub, subId, at, dependencies, depth + 1, apps, counts);
    if (failure !== undefined) return failure;
  }
  return undefined;
}

/**
 * A dependency cycle among `dependencies` (app id -> the ids it depends on; a
 * dependency on a group stands for every app under it), as the ids around it,
 * or undefined when there is none.
 */
export function dependencyCycle(
  dependencies: ReadonlyMap<string, readonly string[]>,
): string[] | undefined {
  const ids = [...dependencies.keys()];
  const targetsOf = (dependency: string): string[] =>
    dependencies.has(dependency)
      ? [dependency]
      : ids.filter((id) => id.startsWith(`${dependency}/`));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dependency of dependencies.get(id) ?? [])
      for (const target of targetsOf(dependency)) {
        const cycle = visit(target);
        if (cycle !== undefined) return cycle;
      }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const cycle = visit(id);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

function fail<T>(path: string, error: string): Parsed<T> {
  return { ok: false, failure: invalid(path, error) };
}

/**
 * PUT/PATCH /v2/apps (Marathon's bulk update): a list of app definitions, each
 * changing the app of its id (only the fields sent when `isPartial`, as one
 * PUT /v2/apps/<id> does) or creating it. Errors name the entry: `/(2)/cpus`.
 */
export function parseAppList(
  body: unknown,
  current: (appId: string) => AppDefinition | undefined,
  isPartial: boolean,
): Parsed<AppDefinition[]> {
  if (!Array.isArray(body)) return fail('/', 'a list of app definitions');
  if (body.length > GROUP_LIMITS.apps)
    return fail('/', `at most ${GROUP_LIMITS.apps} apps in one update`);
  const apps: AppDefinition[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of body.entries()) {
    const at = `/(${i})`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return fail(at, 'an app definition is a JSON object');
    const entry = raw as Record<string, unknown>;
    if (typeof entry.id !== 'string') return fail(`${at}/id`, 'an app needs an id');
    const appId = normalizeAppId(entry.id);
    const idError = appIdError(appId);
    if (idError !== undefined) return fail(`${at}/id`, idError);
    if (seen.has(appId)) return fail(`${at}/id`, `${appId} appears twice in the update`);
    seen.add(appId);
    const base = isPartial ? (current(appId) as unknown as Record<string, unknown>) : undefined;
    const parsed = parseApp({ ...base, ...entry, id: appId }, appId);
    if (!parsed.ok)
      return {
        ok: false,
        failure: {
          message: parsed.failure.message,
          details: parsed.failure.details.map((d) => ({
            path: `${at}${d.path === '/' ? '' : d.path}`,
            errors: d.errors,
          })),
        },
      };
    apps.push(parsed.value);
  }
  return { ok: true, value: apps };
}
