// Role names: the one check every role goes through, wherever it enters (schemas, the
// agent's --resources, quota, weights, reservations, FrameworkInfo).
//
// The rules are Mesos' (`roles::validate` in src/common/roles.cpp of apache/mesos, and
// docs/roles.md, "Invalid role names"; WIRE §1.9): a role is `*`, or '/'-separated components
// with no leading, trailing or doubled '/'; no component is `.`, `..` or `*` or starts with
// '-'; no whitespace (tab, line feed, vertical tab, form feed, carriage return, space) and no
// DEL (0x7f). Mesos accepts everything else, '\' and non-ASCII included, and so does Agora.
//
// Agora adds, from the same document's "A role name must be a valid directory name":
// - every other ASCII control character (NUL to 0x1f) is refused too: NUL cannot be in a
//   directory name, and the others would garble log lines and terminals;
// - a component is at most NAME_MAX (255) bytes, a directory name's limit; Mesos' code checks
//   no length, and a whole role is at most MAX_ROLE_BYTES (see limits.ts).
import { MAX_ROLE_BYTES, MAX_ROLE_COMPONENT_BYTES } from './limits.js';
import { quote, utf8Length } from './text.js';

/**
 * Why `role` is not a valid role name, or `undefined` when it is. The reason quotes the
 * offending role or component (cut short), so it can go straight into a BadRequestError.
 */
export function roleError(role: string): string | undefined {
  if (role === '*') return undefined;
  if (role === '') return 'role must not be empty';
  // Before anything walks the string: a 5 MB role costs MAX_ROLE_BYTES steps here.
  if (utf8Length(role, MAX_ROLE_BYTES) > MAX_ROLE_BYTES)
    return `role ${quote(role)} is longer than ${MAX_ROLE_BYTES} bytes`;
  if (role.startsWith('/')) return `role ${quote(role)} must not start with '/'`;
  if (role.endsWith('/')) return `role ${quote(role)} must not end with '/'`;
  if (role.includes('//')) return `role ${quote(role)} must not contain '//'`;
  for (const component of role.split('/')) {
    if (component === '.' || component === '..' || component === '*')
      return `role ${quote(role)} must not have '${component}' as a component`;
    if (component.startsWith('-'))
      return `role ${quote(role)} has component ${quote(component)} starting with '-'`;
    const bad = invalidCharacter(component);
    if (bad !== undefined)
      return bad === ' ' || (bad >= '\t' && bad <= '\r')
        ? `role ${quote(role)} must not contain whitespace`
        : `role ${quote(role)} must not contain control character U+${bad.charCodeAt(0).toString(16).padStart(4, '0')}`;
    if (utf8Length(component, MAX_ROLE_COMPONENT_BYTES) > MAX_ROLE_COMPONENT_BYTES)
      return `role ${quote(role)} has component ${quote(component)} longer than ${MAX_ROLE_COMPONENT_BYTES} bytes`;
  }
  return undefined;
}

/** The first space, ASCII control character or DEL in `text`. */
function invalidCharacter(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return text[i];
  }
  return undefined;
}
