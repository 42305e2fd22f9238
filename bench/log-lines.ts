// What a daemon's log costs per line when its lines come one per loop round, as a newly
// elected master's 'agent reregistered' lines do while agents arrive one at a time (#10):
// `--lines` info lines through createLogger (stdout, as the HA bed's masters log, into a
// file), one per setImmediate; the process's CPU per line over a floor (the same loop
// logging nothing), and the write(2)s on stdout.
//
//   node --import tsx bench/log-lines.ts [--lines 10000] [--rounds 5] > /tmp/log-lines.out
//
// Rounds alternate floor / logged, so both see the same load; the result goes to stderr.
import fs from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/runtime/index.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
  },
});
const LINES = Number(values.lines);
const ROUNDS = Number(values.rounds);

// pino's synchronous destination calls fs.writeSync for each write: counted here.
let writes = 0;
const writeSync = fs.writeSync;
fs.writeSync = ((fd: number, ...rest: unknown[]) => {
  if (fd === 1) writes++;
  return (writeSync as (...args: unknown[]) => number)(fd, ...rest);
}) as typeof fs.writeSync;

const logger = createLogger('master', { level: 'info' });
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** CPU µs per loop round over `LINES` rounds, logging a line in each when `isLogged`. */
async function run(isLogged: boolean): Promise<number> {
  const from = process.cpuUsage();
  for (let i = 0; i < LINES; i++) {
    if (isLogged)
      // The master's line for a re-registration (agents.ts), with values of its size.
      logger.info(
        {
          agent_id: `5d8004f5-dd9c-4a30-adc7-eea719c75f48-S${i}`,
          hostname: `agent-${i}.sim`,
          resources: 'cpus:4; mem:8192',
          reregistered: true,
        },
        'agent reregistered',
      );
    await turn();
  }
  // What is still held goes out within its hold time: waited for, and counted.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const used = process.cpuUsage(from);
  return (used.user + used.system) / LINES;
}

process.stderr.write(`${LINES} lines, one per loop round; load ${loadavg()[0]?.toFixed(1)}\n`);
for (let round = 1; round <= ROUNDS; round++) {
  const floorUs = await run(false);
  const writesBefore = writes;
  const loggedUs = await run(true);
  process.stderr.write(
    `round ${round}: ${(loggedUs - floorUs).toFixed(2)} µs CPU per line over the floor ` +
      `(${loggedUs.toFixed(2)} logged, ${floorUs.toFixed(2)} floor), ` +
      `${writes - writesBefore} writes on stdout; load ${loadavg()[0]?.toFixed(1)}\n`,
  );
}
