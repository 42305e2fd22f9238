// Books.usedOn keeps each agent's sum of used resources until what it sums changes
// (books.usedChanged). A missed change would show stale numbers in /master/state and in
// reservation checks: after every step of a busy scenario, the kept sum equals a fresh one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentLost } from '../../src/master/core/executors.js';
import { CoreBed } from './core-bed.js';

function assertSumsFresh(bed: CoreBed, step: string): void {
  const books = bed.core.books;
  for (const agent of books.agents.values()) {
    // Read first, so the next step finds a kept sum it has to drop.
    const kept = books.usedOn(agent).toString();
    assert.equal(kept, books.usedOnFresh(agent).toString(), `${step}: agent ${agent.id.value}`);
  }
}

test('used resources per agent: the kept sums follow launches, updates, kills and a lost agent', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2 });
  for (let i = 0; i < 4; i++) bed.addAgent('cpus:4;mem:4096');
  const fw = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  assertSumsFresh(bed, 'registered');
  const a1 = { id: bed.launch(fw, 't1') };
  assertSumsFresh(bed, 'launched t1');
  const a3 = { id: bed.launch(fw, 't2') };
  assertSumsFresh(bed, 'launched t2');
  const running = bed.report(a1.id, fw.id, 't1', 'TASK_RUNNING');
  bed.acknowledge(a1.id, fw.id, running);
  assertSumsFresh(bed, 't1 running');
  const finished = bed.report(a1.id, fw.id, 't1', 'TASK_FINISHED');
  assertSumsFresh(bed, 't1 finished, not yet acknowledged');
  bed.acknowledge(a1.id, fw.id, finished);
  assertSumsFresh(bed, 't1 finished and acknowledged');
  bed.report(a3.id, fw.id, 't2', 'TASK_FAILED');
  assertSumsFresh(bed, 't2 failed');
  const a2 = { id: bed.launch(fw, 't3') };
  bed.report(a2.id, fw.id, 't3', 'TASK_RUNNING');
  assertSumsFresh(bed, 't3 running');
  // Every agent goes silent: unreachable after the ping timeouts, tasks TASK_UNREACHABLE.
  bed.advance(2500);
  assertSumsFresh(bed, 'a2 unreachable');
  agentLost(bed.core, bed.agent(a2.id), bed.agent(a2.id).id);
  bed.drain();
  assertSumsFresh(bed, 'a2 lost');
});
