// Mesos' resource text ('name(role):value;…', `Resources::parse` in src/common/resources.cpp).
// Produces wire resources for Resources.fromWire; every mistake is a BadRequestError on
// 'resources' that quotes the bad part. The JSON form of the flag is in parse-json.ts, apart,
// because validating it needs the wire schemas (zod), which `agora run` must not load.
import { assertNever, BadRequestError, type Resource } from '../wire/index.js';
import { roleError } from './roles.js';
import { parseValueText, ValueTextError } from './value-text.js';

const FIELD = 'resources';

export function bad(reason: string, cause?: unknown): BadRequestError {
  return new BadRequestError(FIELD, reason, cause === undefined ? undefined : { cause });
}

/**
 * Parses resource text into pre-refinement wire resources. Without a role, or with role
 * '*', a resource is unreserved; `defaultRole` (other than '*') statically reserves the ones
 * that name no role. Throws BadRequestError('resources', reason).
 */
export function parseResourceText(text: string, defaultRole = '*'): Resource[] {
  const defaultRoleError = roleError(defaultRole);
  if (defaultRoleError !== undefined) throw bad(`invalid default role: ${defaultRoleError}`);
  const trimmed = text.trim();
  if (trimmed.startsWith('['))
    throw bad('a JSON array is not resource text here; the --resources flags accept it');
  const resources = trimmed.split(';').flatMap((token) => {
    const resource = parseToken(token.trim(), defaultRole);
    return resource === undefined ? [] : [resource];
  });
  checkOneTypePerName(resources);
  return resources;
}

/** One 'name(role):value' token; undefined for an empty token (';;' and a trailing ';'). */
function parseToken(token: string, defaultRole: string): Resource | undefined {
  if (token === '') return undefined;
  const colon = token.indexOf(':');
  if (colon < 0) throw bad(`'${token}' lacks ':' between name and value`);
  if (token.indexOf(':', colon + 1) >= 0) throw bad(`'${token}' has more than one ':'`);
  const { name, role } = parseNameAndRole(token.slice(0, colon), token, defaultRole);
  const valueText = token.slice(colon + 1).trim();
  let value: ReturnType<typeof parseValueText>;
  try {
    value = parseValueText(valueText);
  } catch (error) {
    if (error instanceof ValueTextError) throw bad(`${error.message} in '${token}'`, error);
    throw error;
  }
  const roleField = role === '*' ? {} : { role };
  switch (value.kind) {
    case 'scalar':
      if (value.value < 0) throw bad(`scalar '${valueText}' in '${token}' is negative`);
      return { name, type: 'SCALAR', scalar: { value: value.value }, ...roleField };
    case 'ranges':
      return { name, type: 'RANGES', ranges: { range: value.ranges }, ...roleField };
    case 'set':
      return { name, type: 'SET', set: { item: value.items }, ...roleField };
    case 'text':
      throw bad(
        `value '${valueText}' in '${token}' is not a number, ranges '[b-e,…]' or a set '{a,…}'`,
      );
    default:
      return assertNever(value);
  }
}

function parseNameAndRole(
  head: string,
  token: string,
  defaultRole: string,
): { readonly name: string; readonly role: string } {
  const open = head.indexOf('(');
  const close = head.indexOf(')');
  let name: string;
  let role: string;
  if (open < 0) {
    if (close >= 0) throw bad(`'${token}' has ')' without '('`);
    name = head.trim();
    role = defaultRole;
  } else {
    if (close < 0) throw bad(`'${token}' lacks the ')' closing the role`);
    if (close < open) throw bad(`'${token}' has ')' before '('`);
    if (head.slice(close + 1).trim() !== '') {
      throw bad(`'${token}' has '${head.slice(close + 1).trim()}' after the role`);
    }
    name = head.slice(0, open).trim();
    role = head.slice(open + 1, close).trim();
    const reason = roleError(role);
    if (reason !== undefined) throw bad(`${reason} in '${token}'`);
  }
  if (name === '') throw bad(`'${token}' has an empty resource name`);
  if (/[\s()[\]{}]/.test(name)) throw bad(`resource name '${name}' in '${token}' is malformed`);
  return { name, role };
}

/** 'cpus:1;cpus:[1-2]' is a typo, not two resources: summaries assume one type per name. */
export function checkOneTypePerName(resources: readonly Resource[]): void {
  const types = new Map<string, Resource['type']>();
  for (const resource of resources) {
    const seen = types.get(resource.name);
    if (seen !== undefined && seen !== resource.type) {
      throw bad(`resource '${resource.name}' is given as both ${seen} and ${resource.type}`);
    }
    types.set(resource.name, resource.type);
  }
}
