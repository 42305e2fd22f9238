// Simulated agents in a process of their own, so that their work is not counted in the
// loop turns of the master under test (agent-storm.test.ts):
//   node --import tsx test/master/storm-agents.ts <master url> <count> [tasks per agent]
// Prints `subscribed` once every agent has its id. With tasks per agent, each then holds
// that many running tasks the first master never heard of (a framework's, launched before),
// listed in its next SUBSCRIBE, as a newly elected master meets them. `follow <url> [ms]`,
// once the first master has stopped, sends them all to another within 1 ms (or `ms`: each
// agent's random wait, as after an election), and `resubscribed` is printed when all have
// their SUBSCRIBED again.
import { createInterface } from 'node:readline';
import {
  mulberry32,
  SimAgentPool,
  SimNetwork,
  TimingWheel,
  WheelDriver,
} from '../../src/sim/index.js';
import { frameworkId } from '../../src/wire/index.js';

const [url, countText, tasksText] = process.argv.slice(2);
const count = Number(countText);
const tasksPerAgent = Number(tasksText ?? 0);
const wheel = new TimingWheel(5, performance.now());
const driver = new WheelDriver(wheel);
driver.start();
const network = new SimNetwork({ master: new URL(url ?? '') });
const pool = new SimAgentPool({
  network,
  count,
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 8192 } },
  ],
  wheel,
  random: mulberry32(10),
  subscribeConcurrency: count,
});
await pool.start();
if (tasksPerAgent > 0)
  pool.holdTasks(
    tasksPerAgent,
    { id: frameworkId('storm-framework'), user: 'storm', name: 'storm', failover_timeout: 3600 },
    [
      // As the master allocated them: a task's resources carry their role.
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: '*' } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: '*' } },
    ],
  );
process.stdout.write('subscribed\n');

let follows = 0;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, next, withinText] = line.split(' ');
  if (command !== 'follow' || next === undefined) return;
  // Another master leads (the old one has stopped): every agent subscribes there within
  // 1 ms, all at once, the storm a newly elected master meets.
  network.retarget(new URL(next));
  pool.leaderChanged(Number(withinText ?? 1));
  follows++;
  const check = setInterval(() => {
    const { subscribed, disconnects } = pool.stats;
    // Each stream to the old master ended (a disconnect, once per master followed) and a
    // new one is subscribed.
    if (disconnects < count * follows || subscribed !== count) return;
    clearInterval(check);
    process.stdout.write('resubscribed\n');
  }, 5);
});
lines.on('close', () => {
  pool.stop();
  driver.stop();
  network.close();
  process.exit(0);
});
