import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AgentTable, type TableSlot } from '../../src/allocator/agent-table.js';

interface Books extends TableSlot {
  readonly name: string;
}

const books = (name: string): Books => ({ name, slot: -1 });
const names = (table: AgentTable<Books>) => table.awake().map((b) => b.name);

test('agent table keeps each agent its numbers, and grows a row when a new scalar appears', () => {
  const table = new AgentTable<Books>();
  const agents = Array.from({ length: 100 }, (_, i) => books(`a${i}`));
  for (const [i, agent] of agents.entries()) {
    table.add(agent);
    table.setAvailable(agent, [i, 2 * i], i % 2 === 0);
  }
  // A third scalar slot: every row is widened, and what was there stays.
  const last = agents[99] ?? books('none');
  table.setAvailable(last, [99, 198, 7], true);
  for (const [i, agent] of agents.entries()) {
    assert.equal(table.freeAt(agent, 0), i);
    assert.equal(table.freeAt(agent, 1), 2 * i);
    assert.equal(table.freeAt(agent, 2), i === 99 ? 7 : 0);
    assert.equal(table.freeAt(agent, 5), 0, 'a slot no row has yet is zero');
    assert.equal(table.isPlain(agent), i % 2 === 0 || i === 99);
  }
  assert.deepEqual(table.readFree(last, [1, 1, 1, 1]), [99, 198, 7, 0]);
});

test('agent table reuses a removed agent slot, with nothing available and not awake', () => {
  const table = new AgentTable<Books>();
  const [a, b] = [books('a'), books('b')];
  table.add(a);
  table.setAvailable(a, [5], false);
  table.wake(a);
  table.remove(a);
  assert.equal(a.slot, -1);
  table.add(b);
  assert.equal(b.slot, 0, 'the freed slot');
  assert.equal(table.freeAt(b, 0), 0);
  assert.ok(table.isPlain(b));
  assert.ok(!table.isAwake(b));
  assert.deepEqual(names(table), []);
});

test('agent table awake list holds exactly the agents woken and not put to sleep since', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ agent: fc.nat({ max: 40 }), isWake: fc.boolean() }), {
        maxLength: 300,
      }),
      (steps) => {
        const table = new AgentTable<Books>();
        const agents = Array.from({ length: 41 }, (_, i) => books(`a${i}`));
        for (const agent of agents) table.add(agent);
        const model = new Set<string>();
        for (const { agent, isWake } of steps) {
          const it = agents[agent] ?? books('none');
          if (isWake) {
            table.wake(it);
            model.add(it.name);
          } else {
            table.sleep(it);
            model.delete(it.name);
          }
          assert.equal(table.isAwake(it), isWake);
        }
        assert.equal(table.awakeSize, model.size);
        assert.deepEqual(names(table).sort(), [...model].sort());
      },
    ),
  );
});
