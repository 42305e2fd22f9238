// A framework's offer constraints (scheduler.proto OfferConstraints; Mesos'
// offer_constraints_filter.cpp) and offer filters (FrameworkInfo.offer_filters): which agents
// each of its roles is never offered, and the least an offer must hold for it. Constraints
// are compiled once per SUBSCRIBE or UPDATE_FRAMEWORK and evaluated once per (framework
// role, agent) when either changes; the allocator only looks the answer up per offer.
//
// Regular expressions are RE2's (linear time) through re2js, never JavaScript's RegExp: a
// framework's pattern such as `(a+)+$` would otherwise backtrack exponentially on a long
// attribute and stall the master's event loop. Patterns are bounded in length by the schema
// (limits.MAX_REGEX_LENGTH) and in compiled size here, as Mesos bounds them with
// --offer_constraints_re2_max_program_size (default 100).
import { RE2JS } from 're2js';
import type {
  AgentInfo,
  AttributeConstraint,
  FrameworkInfo,
  OfferConstraints,
} from '../../wire/index.js';
import { allocatorHandle, type CoreContext } from './context.js';
import type { AgentRecord, AgentTest, CompiledConstraints, FrameworkRecord } from './records.js';

/** Mesos' default --offer_constraints_re2_max_program_size. */
export const MAX_REGEX_PROGRAM_SIZE = 100;

type Selected =
  | { readonly kind: 'none' }
  | { readonly kind: 'text'; readonly value: string }
  /** A named attribute: text predicates hold for attributes that are not TEXT (Mesos). */
  | { readonly kind: 'attribute'; readonly text: string | undefined };

function selector(constraint: AttributeConstraint): (info: AgentInfo) => Selected {
  const none: Selected = { kind: 'none' };
  const { selector: s } = constraint;
  if ('attribute_name' in s) {
    const name = s.attribute_name;
    return (info) => {
      const attribute = info.attributes?.find((a) => a.name === name);
      if (attribute === undefined) return none;
      return {
        kind: 'attribute',
        text: attribute.type === 'TEXT' ? (attribute.text?.value ?? '') : undefined,
      };
    };
  }
  switch (s.pseudoattribute_type) {
    case 'HOSTNAME':
      return (info) => ({ kind: 'text', value: info.hostname });
    case 'REGION':
      return (info) => {
        const region = info.domain?.fault_domain?.region.name;
        return region === undefined ? none : { kind: 'text', value: region };
      };
    case 'ZONE':
      return (info) => {
        const zone = info.domain?.fault_domain?.zone.name;
        return zone === undefined ? none : { kind: 'text', value: zone };
      };
  }
}

/** A text predicate over what was selected: false for nothing unless `ifNone`; true for non-TEXT attributes. */
function textPredicate(
  matches: (text: string) => boolean,
  ifNone: boolean,
): (selected: Selected) => boolean {
  return (selected) => {
    switch (selected.kind) {
      case 'none':
        return ifNone;
      case 'text':
        return matches(selected.value);
      case 'attribute':
        return selected.text === undefined || matches(selected.text);
    }
  };
}

/** RE2, with Mesos' limit on the compiled program. Throws the reason as a string. */
function compileRegex(pattern: string): RE2JS {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (error) {
    throw `Failed to construct regex from pattern '${pattern}': ${(error as Error).message}`;
  }
  const size = re.programSize();
  if (size > MAX_REGEX_PROGRAM_SIZE)
    throw `Regex '${pattern}' is too complex: program size of ${size} is larger than maximum of ${MAX_REGEX_PROGRAM_SIZE} allowed`;
  return re;
}

function predicate(constraint: AttributeConstraint): (selected: Selected) => boolean {
  const p = constraint.predicate;
  if ('exists' in p) return (selected) => selected.kind !== 'none';
  if ('not_exists' in p) return (selected) => selected.kind === 'none';
  if ('text_equals' in p) {
    const value = p.text_equals.value;
    return textPredicate((text) => text === value, false);
  }
  if ('text_not_equals' in p) {
    const value = p.text_not_equals.value;
    return textPredicate((text) => text !== value, true);
  }
  if ('text_matches' in p) {
    const re = compileRegex(p.text_matches.regex);
    return textPredicate((text) => re.matches(text), false);
  }
  const re = compileRegex(p.text_not_matches.regex);
  return textPredicate((text) => !re.matches(text), true);
}

/**
 * Compiles a subscription's offer constraints for a framework with `roles`. Returns the
 * reason they are invalid (Mesos' message), or the compiled constraints (empty: none).
 */
export function compileOfferConstraints(
  constraints: OfferConstraints | undefined,
  roles: readonly string[],
): CompiledConstraints | string {
  const compiled = new Map<string, (readonly AgentTest[])[]>();
  const known = new Set(roles);
  for (const [role, roleConstraints] of Object.entries(constraints?.role_constraints ?? {})) {
    if (!known.has(role))
      return `Offer constraints specify \`role_constraints\` for a role '${role}' not contained in the set of roles`;
    const groups = roleConstraints.groups ?? [];
    if (groups.length === 0)
      return `Offer constraints are not valid: 'OfferConstraints::role_constraints' has an empty 'RoleConstraints::groups' for role ${role}`;
    const compiledGroups: (readonly AgentTest[])[] = [];
    for (const group of groups) {
      const list = group.attribute_constraints ?? [];
      if (list.length === 0)
        return `Offer constraints are not valid: 'OfferConstraints::RoleConstraints::groups' for role ${role} contains an empty RoleConstraints::Group`;
      try {
        compiledGroups.push(
          list.map((c) => {
            const select = selector(c);
            const test = predicate(c);
            return (info: AgentInfo) => test(select(info));
          }),
        );
      } catch (reason) {
        if (typeof reason !== 'string') throw reason;
        return `Offer constraints are not valid: ${reason}`;
      }
    }
    compiled.set(role, compiledGroups);
  }
  return compiled;
}

/** Whether `role` of a framework with these constraints must never be offered this agent. */
export function isAgentExcluded(
  constraints: CompiledConstraints,
  role: string,
  info: AgentInfo,
): boolean {
  const groups = constraints.get(role);
  if (groups === undefined) return false;
  return !groups.some((group) => group.every((test) => test(info)));
}

/**
 * FrameworkInfo.offer_filters checked as Mesos' validateOfferFilters does: each alternative
 * names at least one quantity, every quantity finite and not negative.
 */
export function offerFiltersError(info: FrameworkInfo): string | undefined {
  for (const filters of Object.values(info.offer_filters ?? {}))
    for (const alternative of filters.min_allocatable_resources?.quantities ?? []) {
      const quantities = Object.entries(alternative.quantities ?? {});
      if (quantities.length === 0) return 'Resource quantities must contain at least one quantity';
      for (const [name, { value }] of quantities)
        if (!Number.isFinite(value) || value < 0)
          return `Invalid resource quantity for '${name}': ${Number.isFinite(value) ? 'Negative values not supported' : 'Infinite values not supported'}`;
    }
  return undefined;
}

/**
 * Per role, the alternatives of scalar quantities (units) an offer must hold one of, from
 * FrameworkInfo.offer_filters; a role without min_allocatable_resources is absent (the
 * global --min_allocatable_resources applies), one with none listed accepts any offer.
 */
export function minAllocatableOf(
  info: FrameworkInfo,
): ReadonlyMap<string, readonly Readonly<Record<string, number>>[]> {
  const byRole = new Map<string, Readonly<Record<string, number>>[]>();
  for (const [role, filters] of Object.entries(info.offer_filters ?? {})) {
    const min = filters.min_allocatable_resources;
    if (min === undefined) continue;
    byRole.set(
      role,
      (min.quantities ?? []).map((alternative) =>
        Object.fromEntries(
          Object.entries(alternative.quantities ?? {}).map(([name, { value }]) => [name, value]),
        ),
      ),
    );
  }
  return byRole;
}

/**
 * Brings the allocator's exclusions for `framework` up to date with its constraints, for
 * every agent (after SUBSCRIBE or UPDATE_FRAMEWORK), or only for `onlyAgent` (an agent
 * that registered or changed its info). Only changes are sent.
 */
export function evaluateOfferConstraints(
  core: CoreContext,
  framework: FrameworkRecord,
  onlyAgent?: AgentRecord,
): void {
  const agents = onlyAgent === undefined ? [...core.books.agents.values()] : [onlyAgent];
  const roles = new Set([...framework.offerConstraints.keys(), ...framework.excludedAgents.keys()]);
  for (const role of roles) {
    let excluded = framework.excludedAgents.get(role);
    for (const agent of agents) {
      const isExcluded = isAgentExcluded(framework.offerConstraints, role, agent.info);
      if (isExcluded === (excluded?.has(agent.id.value) ?? false)) continue;
      if (excluded === undefined) {
        excluded = new Set();
        framework.excludedAgents.set(role, excluded);
      }
      if (isExcluded) excluded.add(agent.id.value);
      else excluded.delete(agent.id.value);
      allocatorHandle(core, {
        kind: 'agentExcluded',
        frameworkId: framework.id,
        role,
        agentId: agent.id,
        isExcluded,
      });
    }
    if (excluded?.size === 0) framework.excludedAgents.delete(role);
  }
}
