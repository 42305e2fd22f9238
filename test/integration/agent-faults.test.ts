// The agent fault loop in `npm test`: a few random SIGKILLs of a real agent under a
// steady mix of tasks, each run with a fresh seed (AGORA_AGENT_FAULT_SEED replays one).
// The seed is printed on failure with the command that replays it; longer runs:
// npm run test:agent-faults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runAgentFaultLoop } from './agent-faults.js';

const ROUNDS = Number(process.env.AGORA_AGENT_FAULT_ROUNDS ?? 4);

test(`agent fault loop: ${ROUNDS} random SIGKILLs of the agent keep every invariant`, async (t) => {
  const seed =
    process.env.AGORA_AGENT_FAULT_SEED !== undefined
      ? Number(process.env.AGORA_AGENT_FAULT_SEED)
      : Math.floor(Math.random() * 2 ** 31);
  const result = await runAgentFaultLoop({ seed, rounds: ROUNDS, concurrency: 12 });
  for (const round of result.rounds) t.diagnostic(round);
  t.diagnostic(`seed ${seed} (${result.isolation}): ${result.launched} tasks launched`);
  assert.deepEqual(
    result.violations,
    [],
    [
      `agent fault loop failed; replay: npm run test:agent-faults -- --seed ${seed} --rounds ${ROUNDS}`,
      ...(result.keptIn !== undefined ? [`logs and journal kept in ${result.keptIn}`] : []),
      ...result.violations,
    ].join('\n'),
  );
});
