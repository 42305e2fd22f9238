import { roleError } from '../../resources/index.js';
import { type FrameworkInfo, quote } from '../../wire/index.js';

export function hasCapability(
  info: FrameworkInfo,
  type: NonNullable<FrameworkInfo['capabilities']>[number]['type'],
): boolean {
  return info.capabilities?.some((c) => c.type === type) ?? false;
}

/** The roles a framework subscribes with: `roles` for MULTI_ROLE frameworks, else `role` (default `*`). */
export function frameworkRoles(info: FrameworkInfo): readonly string[] {
  return hasCapability(info, 'MULTI_ROLE') ? (info.roles ?? []) : [info.role ?? '*'];
}

/**
 * Checks what the schema cannot: role names and their consistency with the
 * MULTI_ROLE capability, and suppressed roles. Mesos answers these with an
 * ERROR event on the subscription rather than a 400 (WIRE §2.1), and so do we.
 * Returns the reason, or undefined when the subscription is valid.
 */
export function frameworkInfoError(
  info: FrameworkInfo,
  suppressedRoles: readonly string[],
): string | undefined {
  const isMultiRole = hasCapability(info, 'MULTI_ROLE');
  if (isMultiRole && info.role !== undefined)
    return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
  if (!isMultiRole && (info.roles?.length ?? 0) > 0)
    return "'FrameworkInfo.roles' must be empty unless the framework is MULTI_ROLE capable";
  const roles = frameworkRoles(info);
  const seen = new Set<string>();
  for (const role of roles) {
    const reason = roleError(role);
    if (reason !== undefined) return `FrameworkInfo has an invalid role: ${reason}`;
    if (seen.has(role))
      return `role ${quote(role)} appears more than once in 'FrameworkInfo.roles'`;
    seen.add(role);
  }
  for (const role of suppressedRoles)
    if (!seen.has(role))
      return `suppressed role ${quote(role)} is not one of the framework's roles`;
  return undefined;
}
