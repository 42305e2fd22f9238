// Run by logger.test.ts: logs `count` info lines through createLogger, one per loop round (as a
// master logs one re-registering agent per round when they arrive one at a time), then ends as
// `how` says. Prints to stderr how many write(2)s the lines took on stdout.
//   node --import tsx test/runtime/logger-child.ts <count> <end|exit|throw|error-then-exit> [file]
import fs from 'node:fs';
import { createLogger } from '../../src/runtime/logger.js';

const [countText, how, file] = process.argv.slice(2);
const count = Number(countText);
// pino's synchronous destination calls fs.writeSync as it writes: counted here.
let writes = 0;
const writeSync = fs.writeSync;
fs.writeSync = ((fd: number, ...rest: unknown[]) => {
  if (fd === 1) writes++;
  return (writeSync as (...args: unknown[]) => number)(fd, ...rest);
}) as typeof fs.writeSync;
process.on('exit', () => process.stderr.write(`writes ${writes}\n`));

const logger = createLogger('test', { level: 'info', ...(file === undefined ? {} : { file }) });
for (let i = 0; i < count; i++) {
  logger.info({ agent_id: `agent-${i}` }, 'agent reregistered');
  await new Promise((resolve) => setImmediate(resolve));
}
switch (how) {
  case 'end':
    break; // the loop runs dry
  case 'exit':
    process.exit(3);
    break;
  case 'throw':
    throw new Error('a crash of the logger’s own process');
  case 'error-then-exit':
    logger.error('about to stop');
    // Killed at once (no 'exit'): only what went out before the signal is there.
    process.kill(process.pid, 'SIGKILL');
    break;
  default:
    throw new Error(`unknown ending ${how}`);
}
