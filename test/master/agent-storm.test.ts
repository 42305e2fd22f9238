// Every agent re-subscribing at once to a real master (as after an election): the master
// handles the storm a time budget per loop turn, so its timers (the coordinator session's
// keep-alive among them) keep running. The agents are src/sim's, in a process of their
// own (storm-agents.ts), so that the loop measured is the master's alone.
//   AGORA_STORM_AGENTS=N, AGORA_STORM_BUDGET_MS=ms (Infinity: the storm in one turn) to compare.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryRegistry } from '../../src/registry/index.js';
import { testMaster } from './daemon-routes.js';
import { KeptRegistry } from './kept-registry.js';
import { startStormAgents } from './storm-agents-process.js';

const AGENTS = Number(process.env.AGORA_STORM_AGENTS ?? 1500);
const BUDGET_MS =
  process.env.AGORA_STORM_BUDGET_MS === undefined
    ? undefined
    : Number(process.env.AGORA_STORM_BUDGET_MS);
/**
 * The longest a timer may wait during the storm. A coordinator session of 10 s survives a
 * loop that stands still ~6 s; the stall watch starts asking at 5 s. The budgeted master's
 * turns are tens of ms; the margin is for a machine shared with other test runs.
 */
const MAX_TIMER_LATENESS_MS = 1500;
const TIMER_MS = 10;

test('a storm of agent SUBSCRIBEs leaves the master loop free for its timers', {
  timeout: 120_000,
}, async (t) => {
  // The first master admits the agents; the second recovers them from its registry, as a
  // newly elected master does, and meets their SUBSCRIBEs when the first stops.
  const kept = new KeptRegistry();
  const first = testMaster({ registry: kept });
  const url = await first.start();
  t.after(() => first.stop());
  const agents = startStormAgents(url, AGENTS);
  t.after(() => agents.stop());

  await agents.heard('subscribed', 60_000);
  assert.equal(first.books.agents.size, AGENTS);
  const master = testMaster({
    registry: new InMemoryRegistry({ initial: kept.held }),
    ...(BUDGET_MS === undefined ? {} : { agentCallBudgetMs: BUDGET_MS }),
  });
  t.after(() => master.stop());
  const next = await master.start();
  assert.equal(master.books.agents.size, AGENTS, 'the second master recovered every agent');
  await first.stop();

  // A timer every 10 ms: how late each fires is how long the loop stood still before it.
  let lateMs = 0;
  let expected = performance.now() + TIMER_MS;
  const ticker = setInterval(() => {
    const now = performance.now();
    lateMs = Math.max(lateMs, now - expected);
    expected = now + TIMER_MS;
  }, TIMER_MS);
  t.after(() => clearInterval(ticker));
  const slicesBefore = master.agentCalls.sliceCount;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  agents.follow(next);
  await agents.heard('resubscribed', 90_000);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(ticker);

  const connected = [...master.books.agents.values()].filter(
    (agent) => agent.link.state === 'connected',
  ).length;
  t.diagnostic(
    `${AGENTS} agents re-subscribed in ${Math.round(elapsedMs)} ms (master CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms), ` +
      `in ${master.agentCalls.sliceCount - slicesBefore} slices; a 10 ms timer was at most ${Math.round(lateMs)} ms late` +
      ` (budget ${BUDGET_MS ?? 'default'} ms, load ${(await import('node:os')).loadavg()[0]?.toFixed(1)})`,
  );
  assert.equal(master.books.agents.size, AGENTS, 'no agent was admitted twice');
  assert.equal(connected, AGENTS, 'every agent is connected again');
  assert.ok(
    lateMs < MAX_TIMER_LATENESS_MS,
    `a timer waited ${Math.round(lateMs)} ms during the storm (limit ${MAX_TIMER_LATENESS_MS} ms)`,
  );
});
