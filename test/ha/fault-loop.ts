// `npm run test:faults -- --seed N --rounds R [--coordinator zookeeper|etcd]`:
// the seeded random fault loop of faults.ts, at the terminal. Without --seed a
// random one is drawn; either way it is printed first, and again with the
// command that replays a failure.
import { parseArgs } from 'node:util';
import { runFaultLoop } from './faults.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    rounds: { type: 'string', default: '10' },
    coordinator: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const rounds = Number(values.rounds);
const kind = values.coordinator;
if (!Number.isInteger(seed) || !Number.isInteger(rounds) || rounds < 1)
  throw new Error('--seed and --rounds take whole numbers (rounds ≥ 1)');
if (kind !== undefined && kind !== 'zookeeper' && kind !== 'etcd')
  throw new Error(`--coordinator: expected zookeeper or etcd, got '${kind}'`);

console.log(`fault loop: seed ${seed}, ${rounds} rounds`);
const started = performance.now();
const result = await runFaultLoop({
  seed,
  rounds,
  ...(kind !== undefined ? { kind } : {}),
  log: (line) => console.log(line),
  keepLogs: values.keep === true,
});
const seconds = Math.round((performance.now() - started) / 1000);
const replay = `npm run test:faults -- --seed ${seed} --rounds ${rounds} --coordinator ${result.kind}`;
if (result.violations.length === 0) {
  console.log(
    `fault loop passed through ${result.kind}: ${result.launched} tasks in ${seconds} s (seed ${seed})`,
  );
} else {
  console.error(`fault loop FAILED through ${result.kind} (seed ${seed}) after ${seconds} s:`);
  for (const violation of result.violations) console.error(`  ${violation}`);
  if (result.keptIn !== undefined) console.error(`logs and journal kept in ${result.keptIn}`);
  console.error(`replay: ${replay}`);
  process.exitCode = 1;
}
