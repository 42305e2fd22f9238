// Marathon's placement constraints (docs/docs/constraints.md) on an agent's
// hostname or attributes. Pure. Regular expressions are RE2's (linear time),
// matched against the whole value as Marathon does.
import { RE2JS } from 're2js';
import type { Constraint } from './app-definition.js';

/** Where an instance is or could be: what constraints read. */
export interface Site {
  readonly hostname: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export function fieldValue(site: Site, field: string): string | undefined {
  return field === 'hostname' ? site.hostname : site.attributes[field];
}

const compiled = new Map<string, RE2JS>();
function regex(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile(pattern);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * Whether one more instance may go on `candidate`, given where the app's
 * instances are (`placed`, which includes those placed earlier in this round)
 * and the values of the field seen on any agent (`knownValues`, for GROUP_BY).
 * Returns undefined when it may, else the constraint that forbids it.
 */
export function violatedConstraint(
  constraints: readonly Constraint[],
  candidate: Site,
  placed: readonly Site[],
  knownValues: (field: string) => ReadonlySet<string>,
): Constraint | undefined {
  for (const constraint of constraints)
    if (!holds(constraint, candidate, placed, knownValues)) return constraint;
  return undefined;
}

function holds(
  [field, operator, value]: Constraint,
  candidate: Site,
  placed: readonly Site[],
  knownValues: (field: string) => ReadonlySet<string>,
): boolean {
  const mine = fieldValue(candidate, field);
  if (mine === undefined) return operator === 'UNLIKE';
  const countOf = (v: string) => placed.filter((site) => fieldValue(site, field) === v).length;
  switch (operator) {
    case 'UNIQUE':
      return countOf(mine) === 0;
    case 'CLUSTER': {
      if (value !== undefined && value !== '') return mine === value;
      const first = placed.map((site) => fieldValue(site, field)).find((v) => v !== undefined);
      return first === undefined || first === mine;
    }
    case 'GROUP_BY': {
      // Evenly over the values seen: never more on this value than on the emptiest one.
      const values = new Set(knownValues(field));
      values.add(mine);
      let least = Number.POSITIVE_INFINITY;
      for (const v of values) least = Math.min(least, countOf(v));
      return countOf(mine) <= least;
    }
    case 'MAX_PER':
      return countOf(mine) < Number(value);
    case 'LIKE':
      return regex(value ?? '').matches(mine);
    case 'UNLIKE':
      return !regex(value ?? '').matches(mine);
    default:
      return false;
  }
}

export function constraintText(constraint: Constraint): string {
  return constraint.filter((part) => part !== undefined).join(':');
}
