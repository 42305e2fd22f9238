// `npm run test:agent-faults -- --seed N --rounds R [--isolation posix] [--keep]`:
// the seeded agent-kill loop of agent-faults.ts, at the terminal. Without
// --seed a random one is drawn; either way it is printed first, and again with
// the command that replays a failure.
import { parseArgs } from 'node:util';
import { runAgentFaultLoop } from './agent-faults.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    rounds: { type: 'string', default: '20' },
    isolation: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const rounds = Number(values.rounds);
if (!Number.isInteger(seed) || !Number.isInteger(rounds) || rounds < 1)
  throw new Error('--seed and --rounds take whole numbers (rounds ≥ 1)');
if (values.isolation !== undefined && values.isolation !== 'posix')
  throw new Error(`--isolation: only 'posix' can be forced, got '${values.isolation}'`);

console.log(`agent fault loop: seed ${seed}, ${rounds} rounds`);
const started = performance.now();
const result = await runAgentFaultLoop({
  seed,
  rounds,
  ...(values.isolation === 'posix' ? { isolation: 'posix' as const } : {}),
  log: (line) => console.log(line),
  keepLogs: values.keep === true,
});
const seconds = Math.round((performance.now() - started) / 1000);
const replay = `npm run test:agent-faults -- --seed ${seed} --rounds ${rounds}${values.isolation === 'posix' ? ' --isolation posix' : ''}`;
if (result.violations.length === 0) {
  console.log(
    `agent fault loop passed (${result.isolation}): ${result.launched} tasks in ${seconds} s (seed ${seed})`,
  );
} else {
  console.error(`agent fault loop FAILED (${result.isolation}, seed ${seed}) after ${seconds} s:`);
  for (const violation of result.violations) console.error(`  ${violation}`);
  if (result.keptIn !== undefined) console.error(`logs and journal kept in ${result.keptIn}`);
  console.error(`replay: ${replay}`);
  process.exitCode = 1;
}
