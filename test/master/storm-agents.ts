// Simulated agents in a process of their own, so that their work is not counted in the
// loop turns of the master under test (agent-storm.test.ts):
//   node --import tsx test/master/storm-agents.ts <master url> <count>
// Prints `subscribed` once every agent has its id. `follow <url>`, once the first master
// has stopped, sends them all at once to another (as after an election), and
// `resubscribed` is printed when all have their SUBSCRIBED again.
import { createInterface } from 'node:readline';
import {
  mulberry32,
  SimAgentPool,
  SimNetwork,
  TimingWheel,
  WheelDriver,
} from '../../src/sim/index.js';

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
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
process.stdout.write('subscribed\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, next] = line.split(' ');
  if (command !== 'follow' || next === undefined) return;
  // Another master leads (the old one has stopped): every agent subscribes there within
  // 1 ms, all at once, the storm a newly elected master meets.
  network.retarget(new URL(next));
  pool.leaderChanged(1);
  const check = setInterval(() => {
    const { subscribed, disconnects } = pool.stats;
    // Each stream to the old master ended (a disconnect) and a new one is subscribed.
    if (disconnects < count || subscribed !== count) return;
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
