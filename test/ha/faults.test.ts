// The fault loop in `npm test`: a few rounds through each coordinator, each run
// with a fresh seed (AGORA_FAULT_SEED replays one). The seed is printed on
// failure with the command that replays it; longer runs: npm run test:faults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFaultLoop } from './faults.js';

const ROUNDS = Number(process.env.AGORA_FAULT_ROUNDS ?? 4);

for (const kind of ['zookeeper', 'etcd'] as const)
  test(`fault loop through ${kind}: ${ROUNDS} random faults keep every invariant`, async (t) => {
    const seed =
      process.env.AGORA_FAULT_SEED !== undefined
        ? Number(process.env.AGORA_FAULT_SEED)
        : Math.floor(Math.random() * 2 ** 31);
    const result = await runFaultLoop({ seed, rounds: ROUNDS, kind });
    for (const round of result.rounds) t.diagnostic(round);
    t.diagnostic(`seed ${seed}: ${result.launched} tasks launched`);
    assert.deepEqual(
      result.violations,
      [],
      [
        `fault loop failed; replay: npm run test:faults -- --seed ${seed} --rounds ${ROUNDS} --coordinator ${kind}`,
        ...(result.keptIn !== undefined ? [`logs and journal kept in ${result.keptIn}`] : []),
        ...result.violations,
      ].join('\n'),
    );
  });
