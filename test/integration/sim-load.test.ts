// The load simulator (src/sim) against a real master process, briefly: so that the
// simulator behind `npm run bench:master` cannot silently stop speaking the protocol.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  mulberry32,
  SimAgentPool,
  SimFramework,
  SimNetwork,
  TimingWheel,
  WheelDriver,
} from '../../src/sim/index.js';
import { getState, startDaemon, waitFor } from './harness.js';

const AGENTS = 50;
const FRAMEWORKS = 2;
const LAUNCH_FOR_MS = 2_000;
const TASK_MAX_DURATION_MS = 500;

test('simulated agents and frameworks launch and finish tasks on a real master, every update acknowledged', {
  timeout: 60_000,
}, async (t) => {
  const master = await startDaemon('master', [
    'master',
    '--port',
    '0',
    '--registry',
    'in_memory',
    '--log_level',
    'info', // the `listening` line is how the harness learns the port
  ]);
  t.after(() => master.stop());
  const wheel = new TimingWheel(5, performance.now());
  const driver = new WheelDriver(wheel);
  driver.start();
  t.after(() => driver.stop());
  const network = new SimNetwork({ master: new URL(master.url) });
  t.after(() => network.close());
  const random = mulberry32(8);
  const pool = new SimAgentPool({
    network,
    count: AGENTS,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
    ],
    wheel,
    random,
  });
  t.after(() => pool.stop());
  await pool.start();
  assert.equal(pool.stats.subscribed, AGENTS);
  assert.equal(new Set(pool.agentIds).size, AGENTS, 'each agent has an id of its own');

  const frameworks = Array.from(
    { length: FRAMEWORKS },
    (_, i) =>
      new SimFramework({
        network,
        wheel,
        random,
        name: `sim-test-${i}`,
        task: { cpus: 0.1, memMb: 32, command: 'true' },
        durationMs: () => random() * TASK_MAX_DURATION_MS,
      }),
  );
  t.after(() => {
    for (const framework of frameworks) framework.stop();
  });
  await Promise.all(frameworks.map((f) => f.start()));
  // Wide margins: on a loaded 2-core host the 1,500 updates and their acknowledgements
  // (each a round trip through the master) were seen to take 10-20 s.
  await waitFor(
    'tasks to finish while launching',
    () => (frameworks.every((f) => f.stats.tasksFinished > 0) ? true : undefined),
    60_000,
  );
  await new Promise((resolve) => setTimeout(resolve, LAUNCH_FOR_MS));
  for (const framework of frameworks) framework.stopLaunching();

  await waitFor(
    'every launched task to finish and every update to be acknowledged',
    () =>
      frameworks.every(
        (f) => f.tasksActive === 0 && f.stats.acknowledged === f.stats.updatesToAcknowledge,
      ) && pool.stats.updatesPending === 0
        ? true
        : undefined,
    60_000,
  );
  const agents = pool.stats;
  const launched = frameworks.reduce((sum, f) => sum + f.stats.tasksLaunched, 0);
  assert.ok(launched > AGENTS, `only ${launched} tasks launched`);
  assert.equal(agents.tasksLaunched, launched, 'every accepted task reached its agent once');
  assert.equal(agents.tasksFinished, launched);
  assert.equal(agents.tasksRetired, launched, 'every task left its agent after its last ack');
  assert.equal(agents.tasksRunning, 0);
  assert.equal(agents.updatesCreated, launched * 3, 'STARTING, RUNNING, FINISHED each');
  assert.equal(agents.updatesAcknowledged, agents.updatesCreated);
  assert.equal(agents.staleAcknowledgements, 0);
  assert.equal(agents.updateCallsFailed, 0);
  // Ten tasks an agent: updates reported in one loop round share an UPDATES call.
  assert.ok(
    agents.updateCalls < agents.updatesSent,
    `${agents.updateCalls} calls for ${agents.updatesSent} updates`,
  );
  assert.equal(agents.disconnects, 0);
  for (const framework of frameworks) {
    const stats = framework.stats;
    assert.equal(stats.tasksFinished, stats.tasksLaunched);
    assert.deepEqual(stats.tasksFailed, {});
    assert.equal(stats.updatesToAcknowledge, stats.tasksLaunched * 3);
    assert.equal(stats.acknowledged, stats.updatesToAcknowledge);
    assert.equal(stats.acceptCallsFailed + stats.declineCallsFailed, 0);
    assert.equal(stats.disconnects + stats.errorEvents, 0);
  }
  const state = await getState(master.url);
  assert.equal(state.slaves.filter((s) => s.active).length, AGENTS);
  for (const framework of state.frameworks)
    assert.deepEqual(framework.tasks, [], `${framework.name} has no task left active`);
});
