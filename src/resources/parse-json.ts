// The --resources flag of the daemons, as Mesos takes it: resource text, or a JSON array of
// Resource objects, validated by the wire schemas.
import { BadRequestError, parseResources, type Resource } from '../wire/index.js';
import { bad, checkOneTypePerName } from './parse.js';
import { Resources } from './resources.js';
import { roleError } from './roles.js';

/**
 * Parses a --resources flag: a JSON array of Resource objects, or resource text
 * (see Resources.parse). Throws BadRequestError('resources', reason).
 */
export function parseResourcesFlag(text: string, defaultRole = '*'): Resources {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) return Resources.parse(trimmed, defaultRole);
  const defaultRoleError = roleError(defaultRole);
  if (defaultRoleError !== undefined) throw bad(`invalid default role: ${defaultRoleError}`);
  const resources = parseJson(trimmed, defaultRole);
  checkOneTypePerName(resources);
  return Resources.fromWire(resources);
}

function parseJson(text: string, defaultRole: string): Resource[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw bad(
      `not a valid JSON array: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  let resources: readonly Resource[];
  try {
    resources = parseResources(json);
  } catch (error) {
    if (error instanceof BadRequestError) throw bad(`${error.field}: ${error.reason}`, error);
    throw error;
  }
  // The schema has checked every role (wire's roleError).
  return resources.map((resource) => {
    // As Mesos does: the default role applies only to resources that name no role at all.
    const namesNoRole = resource.role === undefined && (resource.reservations ?? []).length === 0;
    return namesNoRole && defaultRole !== '*' ? { ...resource, role: defaultRole } : resource;
  });
}
