// Role names (WIRE §1.9; Mesos `roles::validate` in src/common/roles.cpp). A role is `*` or a
// path of '/'-separated components; hierarchical roles share quota and weights with their
// ancestors, so the allocator needs the ancestor chain, and reservations may only be refined
// from a role to one of its strict subroles.

const WHITESPACE = /\s/;

/**
 * Why `role` is not a valid role name, or `undefined` when it is. The reason quotes the
 * offending role or component, so it can go straight into a BadRequestError.
 */
export function roleError(role: string): string | undefined {
  if (role === '*') return undefined;
  if (role === '') return 'role must not be empty';
  if (role.startsWith('/')) return `role '${role}' must not start with '/'`;
  if (role.endsWith('/')) return `role '${role}' must not end with '/'`;
  if (role.includes('//')) return `role '${role}' must not contain '//'`;
  for (const component of role.split('/')) {
    if (component === '.' || component === '..' || component === '*') {
      return `role '${role}' must not have '${component}' as a component`;
    }
    if (component.startsWith('-')) {
      return `role '${role}' has component '${component}' starting with '-'`;
    }
    if (WHITESPACE.test(component)) return `role '${role}' must not contain whitespace`;
  }
  return undefined;
}

/** True when `role` lies strictly below `ancestor` in the hierarchy: 'eng/web' of 'eng'. */
export function isStrictSubroleOf(role: string, ancestor: string): boolean {
  // '*' is not the root of the hierarchy: no role is a subrole of it.
  return ancestor !== '*' && role.length > ancestor.length + 1 && role.startsWith(`${ancestor}/`);
}

/** The strict ancestors of `role`, nearest first: 'a/b/c' gives ['a/b', 'a']; '*' has none. */
export function roleAncestors(role: string): string[] {
  const ancestors: string[] = [];
  for (let slash = role.lastIndexOf('/'); slash > 0; slash = role.lastIndexOf('/', slash - 1)) {
    ancestors.push(role.slice(0, slash));
  }
  return ancestors;
}
