import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Resources, summarize } from '../../src/resources/index.js';

test('summarize renders an agent as the legacy endpoints do', () => {
  const agent = Resources.parse('cpus:8;mem:31744;disk:81920;ports:[31000-32000]');
  assert.equal(
    JSON.stringify(summarize(agent)),
    '{"cpus":8,"gpus":0,"mem":31744,"disk":81920,"ports":"[31000-32000]"}',
  );
});

test('summarize always shows cpus, gpus, mem and disk', () => {
  assert.deepEqual(summarize(Resources.EMPTY), { cpus: 0, gpus: 0, mem: 0, disk: 0 });
});

test('summarize adds up every reservation and allocation of a name', () => {
  const r = Resources.parse('cpus:1;cpus(eng):0.1;ports:[1-3];ports(eng):[4-5,9-9];zones:{b}').plus(
    Resources.parse('cpus:0.2;zones:{a}').allocate('ops'),
  );
  assert.deepEqual(summarize(r), {
    cpus: 1.3,
    gpus: 0,
    mem: 0,
    disk: 0,
    ports: '[1-5, 9-9]',
    zones: '{a, b}',
  });
});

test('summarize puts revocable resources under <name>_revocable', () => {
  const r = Resources.fromWire([
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 }, revocable: {} },
    { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, revocable: {} },
  ]);
  assert.equal(
    JSON.stringify(summarize(r)),
    '{"cpus":2,"gpus":0,"mem":0,"disk":0,"cpus_revocable":1.5,"mem_revocable":64}',
  );
});
