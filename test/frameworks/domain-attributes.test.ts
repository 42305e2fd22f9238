// Region and zone constraints of the bundled frameworks (#15): an offer's fault
// domain reads as the @region and @zone attributes, which services and jobs
// constraints take like any other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainAttributes } from '../../src/frameworks/domain-attributes.js';
import { matches } from '../../src/frameworks/jobs/queue.js';
import { parseJobSpec } from '../../src/frameworks/jobs/spec.js';
import { matchOffers } from '../../src/frameworks/services/offer-matching.js';
import { offerView } from '../../src/frameworks/services/task-info.js';
import type { Offer } from '../../src/wire/index.js';

function wireOffer(id: string, region?: string, zone?: string): Offer {
  return {
    id: { value: `o-${id}` },
    framework_id: { value: 'f' },
    agent_id: { value: `a-${id}` },
    hostname: `host-${id}`,
    url: {
      scheme: 'http',
      address: { hostname: `host-${id}`, ip: '10.0.0.1', port: 5051 },
      path: '/slave(1)',
    },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
    ],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
    ...(region !== undefined && zone !== undefined
      ? { domain: { fault_domain: { region: { name: region }, zone: { name: zone } } } }
      : {}),
  } as unknown as Offer;
}

test('domain attributes an offer with a domain reads as @region and @zone; one without has neither', () => {
  assert.deepEqual(domainAttributes(wireOffer('1', 'eu', 'eu-1')), {
    '@region': 'eu',
    '@zone': 'eu-1',
  });
  assert.deepEqual(domainAttributes(wireOffer('2')), {});
  assert.deepEqual(offerView(wireOffer('3', 'eu', 'eu-2')).attributes, {
    rack: 'r1',
    '@region': 'eu',
    '@zone': 'eu-2',
  });
});

test('domain attributes services spread an app over zones and keep it to a region', () => {
  const offers = [
    offerView(wireOffer('1', 'eu', 'eu-1')),
    offerView(wireOffer('2', 'eu', 'eu-1')),
    offerView(wireOffer('3', 'eu', 'eu-2')),
    offerView(wireOffer('4', 'us', 'us-1')),
  ];
  const request = {
    appId: '/web',
    count: 2,
    role: '*',
    demand: { cpus: 1, mem: 128 },
    ports: [],
    constraints: [
      ['@region', 'CLUSTER', 'eu'],
      ['@zone', 'UNIQUE'],
    ] as const,
    placed: [],
    submittedAtMs: 0,
  };
  const result = matchOffers([request], offers, 'spread', 0);
  const zones = result.launches.map((l) => l.offer.attributes['@zone']);
  assert.equal(result.launches.length, 2);
  assert.deepEqual(new Set(zones), new Set(['eu-1', 'eu-2']), 'one instance per zone, both in eu');
});

test('domain attributes a job constrained to a zone runs only there', () => {
  const spec = parseJobSpec({
    id: 'nightly',
    run: { cmd: 'true', cpus: 0.1, mem: 32 },
    placement: { constraints: ['@zone:store-17'] },
  });
  assert.equal(spec.kind, 'ok', JSON.stringify(spec));
  if (spec.kind !== 'ok') return;
  const constraints = spec.value.placement.constraints;
  assert.equal(matches(constraints, domainAttributes(wireOffer('1', 'north', 'store-17'))), true);
  assert.equal(matches(constraints, domainAttributes(wireOffer('2', 'north', 'store-18'))), false);
  assert.equal(matches(constraints, domainAttributes(wireOffer('3'))), false);
});
