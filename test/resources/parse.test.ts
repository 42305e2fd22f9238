import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResourcesFlag, Resources } from '../../src/resources/index.js';
import { BadRequestError, type Resource } from '../../src/wire/index.js';

test('resources parse reads the agent --resources syntax', () => {
  const r = Resources.parse(
    'cpus:2;mem:1024;disk:4096;ports:[31000-32000,32005-32010];gpus:0;cpus(eng):1;zones:{a,b}',
  );
  assert.deepEqual(r.toWire(), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
    { name: 'disk', type: 'SCALAR', scalar: { value: 4096 } },
    {
      name: 'ports',
      type: 'RANGES',
      ranges: {
        range: [
          { begin: 31000, end: 32000 },
          { begin: 32005, end: 32010 },
        ],
      },
    },
    {
      name: 'cpus',
      type: 'SCALAR',
      scalar: { value: 1 },
      reservations: [{ type: 'STATIC', role: 'eng' }],
    },
    { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
  ]);
});

test('resources parse tolerates whitespace and empty tokens', () => {
  const cases: [string, string][] = [
    [' cpus : 2 ; mem:1024 ;', 'cpus:2;mem:1024'],
    ['ports:[ 1-2 , 4 - 5 ]', 'ports:[1-2,4-5]'],
    ['zones:{ a , b }', 'zones:{a,b}'],
    ['cpus( eng ):1', 'cpus(eng):1'],
    ['cpus(*):1', 'cpus:1'],
    ['cpus:1;cpus:0.5', 'cpus:1.5'],
    ['cpus:.5;mem:1e3', 'cpus:0.5;mem:1000'],
    ['ports:[];zones:{}', ''],
    ['', ''],
  ];
  for (const [text, expected] of cases)
    assert.equal(Resources.parse(text).toString(), expected, text);
});

test('resources parse applies the default role to resources naming none', () => {
  const r = Resources.parse('cpus:2;mem(*):10;disk(ops):5', 'eng');
  assert.equal(r.reserved('eng').toString(), 'cpus(eng):2');
  assert.equal(r.unreserved().toString(), 'mem:10');
  assert.equal(r.reserved('ops').toString(), 'disk(ops):5');
  assert.ok(Resources.parse('cpus:2', '*').equals(Resources.parse('cpus:2')));
});

test('resources flag reads a JSON array of Resource objects', () => {
  const list: Resource[] = [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 512 }, role: 'eng' },
    {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: 64 },
      reservations: [{ type: 'DYNAMIC', role: 'ops', principal: 'p' }],
    },
  ];
  const r = parseResourcesFlag(JSON.stringify(list));
  assert.ok(r.equals(Resources.fromWire(list)));
  const withDefault = parseResourcesFlag(JSON.stringify(list), 'web');
  assert.equal(withDefault.reserved('web').toString(), 'cpus(web):2');
  assert.equal(withDefault.reserved('eng').toString(), 'mem(eng):512');
});

function rejects(text: string, reason: RegExp, defaultRole?: string): void {
  assert.throws(
    () => parseResourcesFlag(text, defaultRole),
    (error: unknown) => {
      assert.ok(error instanceof BadRequestError, `${text}: ${String(error)}`);
      assert.equal(error.field, 'resources');
      assert.match(error.reason, reason, text);
      return true;
    },
  );
}

test('resources flag names the bad part of bad text, both forms', () => {
  const cases: [text: string, reason: RegExp][] = [
    ['cpus:abc', /'abc' in 'cpus:abc'/],
    ['ports:[5-1]', /range '5-1'.*begins after it ends.*'ports:\[5-1\]'/],
    ['ports:[5]', /range '5' is not of the form begin-end/],
    ['ports:[1-2', /lack the closing '\]' in 'ports:\[1-2'/],
    ['ports:[1-2,,3-4]', /empty element/],
    ['zones:{a,b', /lacks the closing '}'/],
    ['cpus', /'cpus' lacks ':'/],
    ['mem:1;cpus', /'cpus' lacks ':'/],
    ['cpus:1:2', /'cpus:1:2' has more than one ':'/],
    ['cpus(eng:1', /'cpus\(eng:1' lacks the '\)'/],
    ['cpuseng):1', /'cpuseng\):1' has '\)' without '\('/],
    ['cpus)eng(:1', /'\)' before '\('/],
    ['cpus(eng)x:1', /'x' after the role/],
    [':1', /':1' has an empty resource name/],
    ['(eng):1', /'\(eng\):1' has an empty resource name/],
    ['cpus():1', /role must not be empty in 'cpus\(\):1'/],
    ['cpus(-eng):1', /'-eng'.*in 'cpus\(-eng\):1'/],
    ['cpus(eng/):1', /must not end with '\/'/],
    ['cpus:-1', /'-1' in 'cpus:-1' is negative/],
    ['cpus:1e999', /'1e999' is out of range/],
    ['my cpus:1', /resource name 'my cpus'/],
    ['cpus:1;cpus:[1-2]', /'cpus' is given as both SCALAR and RANGES/],
    ['[{"name":"cpus"', /not a valid JSON array/],
    ['[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]', /\[0\]\.scalar\.value/],
    [
      '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"a//b"}]',
      /\[0\]\.role: role 'a\/\/b' must not contain '\/\/'/,
    ],
  ];
  for (const [text, reason] of cases) rejects(text, reason);
});

test('resources flag rejects an invalid default role', () => {
  rejects('cpus:1', /invalid default role: role '\.\.'/, '..');
  rejects('[]', /invalid default role: role '\.\.'/, '..');
});

test('resources parse takes only text, not the JSON form of the flag', () => {
  assert.throws(() => Resources.parse('[]'), /JSON array is not resource text/);
});
