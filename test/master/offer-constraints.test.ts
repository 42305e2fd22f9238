// Offer constraints and offer filters from SUBSCRIBE and UPDATE_FRAMEWORK, on the core bed:
// validated as Mesos validates them, evaluated once per (framework role, agent), honoured by
// the allocator, and with RE2 matching that stays linear on hostile patterns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as agents from '../../src/master/core/agents.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import {
  compileOfferConstraints,
  isAgentExcluded,
} from '../../src/master/core/offer-constraints.js';
import { Resources } from '../../src/resources/index.js';
import {
  type AgentInfo,
  type AttributeConstraint,
  BadRequestError,
  type FrameworkInfo,
  type OfferConstraints,
} from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

const multiRole = (roles: string[]): Partial<FrameworkInfo> => ({
  roles,
  capabilities: [{ type: 'MULTI_ROLE' }],
});

function addAgent(bed: CoreBed, hostname: string, attributes: AgentInfo['attributes'] = []) {
  const streamId = bed.newStreamId();
  const id = agents.subscribe(
    bed.core,
    {
      agent_info: {
        hostname,
        port: 5051,
        resources: Resources.parse('cpus:2;mem:1024').toWire(),
        attributes,
      },
      version: '1.11.0',
    },
    undefined,
    '127.0.0.1',
    streamId,
  );
  assert.ok(id !== undefined);
  bed.drain();
  return id.value;
}

function subscribe(bed: CoreBed, info: Partial<FrameworkInfo>, constraints?: OfferConstraints) {
  const streamId = bed.newStreamId();
  const id = frameworks.subscribe(
    bed.core,
    {
      framework_info: { user: 'u', name: 'f', ...info },
      ...(constraints !== undefined ? { offer_constraints: constraints } : {}),
    },
    streamId,
    undefined,
  );
  bed.drain();
  return { id, streamId };
}

const rackIs = (rack: string): OfferConstraints => ({
  role_constraints: {
    eng: {
      groups: [
        {
          attribute_constraints: [
            { selector: { attribute_name: 'rack' }, predicate: { text_equals: { value: rack } } },
          ],
        },
      ],
    },
  },
});

const text = (name: string, value: string) => ({
  name,
  type: 'TEXT' as const,
  text: { value },
});

test('offer constraints: an agent that fails a role constraints is never offered to that framework role', () => {
  const bed = new CoreBed();
  const r1 = addAgent(bed, 'a1', [text('rack', 'r1')]);
  const r2 = addAgent(bed, 'a2', [text('rack', 'r2')]);
  const fw = subscribe(bed, multiRole(['eng']), rackIs('r1'));
  bed.advance(0);
  bed.advance(10_000);
  const offered = new Set(bed.offersOn(fw.streamId).map((o) => o.agent_id.value));
  assert.deepEqual([...offered], [r1]);
  assert.ok(!offered.has(r2));
  // An agent that registers later is evaluated then.
  const r1b = addAgent(bed, 'a3', [text('rack', 'r1')]);
  addAgent(bed, 'a4', [text('rack', 'r9')]);
  bed.advance(1000);
  assert.deepEqual(
    [...new Set(bed.offersOn(fw.streamId).map((o) => o.agent_id.value))].sort(),
    [r1, r1b].sort(),
  );
});

test('offer constraints: UPDATE_FRAMEWORK replaces them, and agents excluded before are offered', () => {
  const bed = new CoreBed();
  addAgent(bed, 'a1', [text('rack', 'r1')]);
  const r2 = addAgent(bed, 'a2', [text('rack', 'r2')]);
  const fw = subscribe(bed, multiRole(['eng']), rackIs('r1'));
  assert.ok(fw.id !== undefined);
  const framework = bed.framework(fw.id);
  frameworks.update(bed.core, framework, {
    framework_info: framework.info,
    offer_constraints: rackIs('r2'),
  });
  bed.advance(1000);
  assert.ok(bed.offersOn(fw.streamId).some((o) => o.agent_id.value === r2));
  assert.deepEqual([...(framework.excludedAgents.get('eng') ?? [])].length, 1);
});

test('offer constraints that are invalid refuse the SUBSCRIBE (ERROR) and the UPDATE_FRAMEWORK (400)', () => {
  const cases: readonly [OfferConstraints, RegExp][] = [
    [
      { role_constraints: { web: rackIs('r1').role_constraints?.eng ?? {} } },
      /role 'web' not contained in the set of roles/,
    ],
    [{ role_constraints: { eng: { groups: [] } } }, /empty 'RoleConstraints::groups'/],
    [
      { role_constraints: { eng: { groups: [{ attribute_constraints: [] }] } } },
      /empty RoleConstraints::Group/,
    ],
    [
      {
        role_constraints: {
          eng: {
            groups: [
              {
                attribute_constraints: [
                  {
                    selector: { pseudoattribute_type: 'HOSTNAME' },
                    predicate: { text_matches: { regex: '(' } },
                  },
                ],
              },
            ],
          },
        },
      },
      /Failed to construct regex from pattern '\('/,
    ],
    [
      {
        role_constraints: {
          eng: {
            groups: [
              {
                attribute_constraints: [
                  {
                    selector: { pseudoattribute_type: 'HOSTNAME' },
                    predicate: { text_matches: { regex: '(a|b|c|d)*x{1,50}' } },
                  },
                ],
              },
            ],
          },
        },
      },
      /is too complex: program size of \d+ is larger than maximum of 100 allowed/,
    ],
  ];
  for (const [constraints, message] of cases) {
    const bed = new CoreBed();
    const refused = subscribe(bed, multiRole(['eng']), constraints);
    assert.equal(refused.id, undefined);
    const [error] = bed.eventsOn(refused.streamId);
    assert.equal(error?.type, 'ERROR');
    assert.match(error?.type === 'ERROR' ? error.error.message : '', message);

    const fw = subscribe(bed, multiRole(['eng']));
    assert.ok(fw.id !== undefined);
    const framework = bed.framework(fw.id);
    assert.throws(
      () =>
        frameworks.update(bed.core, framework, {
          framework_info: framework.info,
          offer_constraints: constraints,
        }),
      (error: unknown) => error instanceof BadRequestError && message.test(error.message),
    );
  }
});

test('offer filters that are invalid refuse the SUBSCRIBE with ERROR', () => {
  const bed = new CoreBed();
  const refused = subscribe(bed, {
    ...multiRole(['eng']),
    offer_filters: { eng: { min_allocatable_resources: { quantities: [{ quantities: {} }] } } },
  });
  const [error] = bed.eventsOn(refused.streamId);
  assert.deepEqual(error, {
    type: 'ERROR',
    error: { message: 'Resource quantities must contain at least one quantity' },
  });
});

test('offer filters keep offers smaller than the role minimum away from the framework', () => {
  const bed = new CoreBed();
  addAgent(bed, 'small');
  const fw = subscribe(bed, {
    ...multiRole(['eng']),
    offer_filters: {
      eng: { min_allocatable_resources: { quantities: [{ quantities: { cpus: { value: 4 } } }] } },
    },
  });
  bed.advance(1000);
  assert.equal(bed.offersOn(fw.streamId).length, 0, 'the agent has 2 cpus, the role wants 4');
  addAgent(bed, 'another-small');
  bed.advance(1000);
  assert.equal(bed.offersOn(fw.streamId).length, 0);
});

function constraint(c: AttributeConstraint): OfferConstraints {
  return { role_constraints: { eng: { groups: [{ attribute_constraints: [c] }] } } };
}

test('offer constraints predicates and selectors behave as Mesos evaluates them', () => {
  const agent: AgentInfo = {
    hostname: 'db-7.example.com',
    attributes: [text('rack', 'r12'), { name: 'gen', type: 'SCALAR', scalar: { value: 3 } }],
    domain: { fault_domain: { region: { name: 'eu-west' }, zone: { name: 'eu-west-1b' } } },
  };
  const bare: AgentInfo = { hostname: 'bare' };
  const rows: readonly [AttributeConstraint, boolean, boolean][] = [
    // constraint, agent excluded?, bare agent excluded?
    [{ selector: { attribute_name: 'rack' }, predicate: { exists: {} } }, false, true],
    [{ selector: { attribute_name: 'rack' }, predicate: { not_exists: {} } }, true, false],
    [
      { selector: { attribute_name: 'rack' }, predicate: { text_equals: { value: 'r12' } } },
      false,
      true,
    ],
    [
      { selector: { attribute_name: 'rack' }, predicate: { text_not_equals: { value: 'r12' } } },
      true,
      false,
    ],
    // Text predicates hold for attributes that are not TEXT.
    [
      { selector: { attribute_name: 'gen' }, predicate: { text_equals: { value: 'x' } } },
      false,
      true,
    ],
    [
      { selector: { attribute_name: 'gen' }, predicate: { text_not_matches: { regex: '.*' } } },
      false,
      false,
    ],
    [
      {
        selector: { pseudoattribute_type: 'HOSTNAME' },
        predicate: { text_matches: { regex: 'db-[0-9]+\\..*' } },
      },
      false,
      true,
    ],
    // A full match, as RE2::FullMatch: a prefix is not enough.
    [
      {
        selector: { pseudoattribute_type: 'HOSTNAME' },
        predicate: { text_matches: { regex: 'db' } },
      },
      true,
      true,
    ],
    [
      {
        selector: { pseudoattribute_type: 'REGION' },
        predicate: { text_equals: { value: 'eu-west' } },
      },
      false,
      true,
    ],
    [{ selector: { pseudoattribute_type: 'ZONE' }, predicate: { not_exists: {} } }, true, false],
  ];
  for (const [c, excluded, bareExcluded] of rows) {
    const compiled = compileOfferConstraints(constraint(c), ['eng']);
    assert.ok(typeof compiled !== 'string', JSON.stringify(c));
    assert.equal(isAgentExcluded(compiled, 'eng', agent), excluded, JSON.stringify(c));
    assert.equal(
      isAgentExcluded(compiled, 'eng', bare),
      bareExcluded,
      `bare: ${JSON.stringify(c)}`,
    );
    assert.equal(isAgentExcluded(compiled, 'web', agent), false, 'other roles are unconstrained');
  }
  // Groups are OR'd, constraints in a group AND'd.
  const either = compileOfferConstraints(
    {
      role_constraints: {
        eng: {
          groups: [
            {
              attribute_constraints: [
                {
                  selector: { attribute_name: 'rack' },
                  predicate: { text_equals: { value: 'r1' } },
                },
              ],
            },
            {
              attribute_constraints: [
                { selector: { attribute_name: 'rack' }, predicate: { exists: {} } },
                {
                  selector: { pseudoattribute_type: 'ZONE' },
                  predicate: { text_equals: { value: 'eu-west-1b' } },
                },
              ],
            },
          ],
        },
      },
    },
    ['eng'],
  );
  assert.ok(typeof either !== 'string');
  assert.equal(isAgentExcluded(either, 'eng', agent), false);
  assert.equal(isAgentExcluded(either, 'eng', bare), true);
});

test('offer constraints match a catastrophic pattern against a long attribute in bounded time', () => {
  const compiled = compileOfferConstraints(
    constraint({
      selector: { pseudoattribute_type: 'HOSTNAME' },
      predicate: { text_matches: { regex: '(a+)+$' } },
    }),
    ['eng'],
  );
  assert.ok(typeof compiled !== 'string');
  // A backtracking engine takes exponential time in the run of 'a's before the 'b'.
  const hostile: AgentInfo = { hostname: `${'a'.repeat(100_000)}b` };
  const started = performance.now();
  assert.equal(isAgentExcluded(compiled, 'eng', hostile), true);
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs < 2_000, `took ${elapsedMs} ms`);
});
