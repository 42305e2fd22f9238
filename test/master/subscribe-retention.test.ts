// What a master keeps of an agent's SUBSCRIBE while the agent stays connected: what its
// books took (records, ids), not the call. A newly elected master meets 10,000 of them at
// once (#10); each one's parsed call and body kept for the agent's lifetime was ~10 KB an
// agent that its scavenges copied and promoted. The agents are src/sim's, in a process of
// their own (storm-agents.ts), so that this process's buffers are the master's alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InMemoryRegistry } from '../../src/registry/index.js';
import { testMaster } from './daemon-routes.js';
import { KeptRegistry } from './kept-registry.js';
import { startStormAgents } from './storm-agents-process.js';

const AGENTS = 200;
/** Tasks each agent lists in its re-SUBSCRIBE: a body of several KB. */
const TASKS = 40;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Buffers outside the heap after full collections (twice: finalizers free some). */
function buffersAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

test("a master lets go of a connected agent's SUBSCRIBE, parsed and as bytes, once booked", {
  timeout: 120_000,
}, async (t) => {
  const kept = new KeptRegistry();
  const first = testMaster({ registry: kept });
  const url = await first.start();
  t.after(() => first.stop());
  const agents = startStormAgents(url, AGENTS, TASKS);
  t.after(() => agents.stop());
  await agents.heard('subscribed', 90_000);

  // The next master (as if elected) meets every agent's SUBSCRIBE with its 40 tasks.
  const master = testMaster({ registry: new InMemoryRegistry({ initial: kept.held }) });
  t.after(() => master.stop());
  const calls: WeakRef<object>[] = [];
  const subscribe = master.subscribeAgent.bind(master);
  master.subscribeAgent = (call, ...rest) => {
    calls.push(new WeakRef(call));
    return subscribe(call, ...rest);
  };
  const next = await master.start();
  await first.stop();
  const buffersBefore = buffersAfterGc();
  agents.follow(next);
  await agents.heard('resubscribed', 90_000);

  let tasks = 0;
  for (const agent of master.books.agents.values()) {
    assert.equal(agent.link.state, 'connected');
    tasks += agent.tasks.size;
  }
  assert.equal(tasks, AGENTS * TASKS, 'every reported task adopted');
  assert.equal(calls.length, AGENTS);
  const buffersPerAgent = (buffersAfterGc() - buffersBefore) / AGENTS;
  assert.equal(
    calls.filter((call) => call.deref() !== undefined).length,
    0,
    'no parsed SUBSCRIBE is kept while its agent is connected',
  );
  // Each body kept was ~16 KB of buffers here (40 tasks); what a connected agent's stream
  // holds in buffers is a few hundred bytes at most.
  assert.ok(
    buffersPerAgent < 1024,
    `${Math.round(buffersPerAgent)} bytes of buffers kept per connected agent`,
  );
});
