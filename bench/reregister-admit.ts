// bench/reregister.ts --cold: the master that first admits the agents, in a process of its
// own, so that the bench's process (the master measured) has run none of the agent API's
// code before its first storm, as a standby has not.
//
//   node --import tsx bench/reregister-admit.ts
//
// Prints `url <url>` once listening. On `dump <file>` it writes the admitted agents'
// AgentInfos (a JSON array) there and prints `dumped`; it stops when stdin ends.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { silentLogger } from '../src/runtime/index.js';
import { testMaster } from '../test/master/daemon-routes.js';

const master = testMaster({ logger: silentLogger() });
const url = await master.start();
process.stdout.write(`url ${url}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, file] = line.split(' ');
  if (command !== 'dump' || file === undefined) return;
  const infos = [...master.books.agents.values()].map((agent) => agent.info);
  writeFileSync(file, JSON.stringify(infos));
  process.stdout.write('dumped\n');
});
lines.on('close', () => {
  void master.stop().then(() => process.exit(0));
});
