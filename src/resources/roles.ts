// The role hierarchy (WIRE §1.9). A role is `*` or a path of '/'-separated components;
// hierarchical roles share quota and weights with their ancestors, so the allocator needs the
// ancestor chain, and reservations may only be refined from a role to one of its strict
// subroles. Role names are validated in wire/ (`roleError`), the one check every role entering
// through any door goes through; it is re-exported here for the modules that parse resources.
export { roleError } from '../wire/index.js';

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
