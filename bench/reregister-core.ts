// The master core's own share of a failover, without sockets or JSON (#10):
//
//   node --import tsx bench/reregister-core.ts [--agents 2000] [--tasks 10] [--rounds 5]
//
// Per round: a fresh core recovers a registry of --agents agents (the books a new
// leader builds, as recoverRegistry does), then each agent re-subscribes through
// agents.subscribe with --tasks running tasks the core never heard of (adopted).
// Prints the CPU time of each step per agent. The HTTP side (accept, the body's
// JSON, the SUBSCRIBED write) is bench/reregister.ts's.
import { parseArgs } from 'node:util';
import * as agents from '../src/master/core/agents.js';
import { recoverRegistry } from '../src/master/core/recovery.js';
import { applyOperation, EMPTY_REGISTRY_STATE, type RegistryState } from '../src/registry/index.js';
import { Resources } from '../src/resources/index.js';
import {
  type AgentInfo,
  type AgentTask,
  agentId,
  frameworkId,
  MESOS_API_VERSION,
  taskId,
} from '../src/wire/index.js';
import { CoreBed } from '../test/master/core-bed.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '2000' },
    tasks: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
  },
});
const AGENTS = Number(values.agents);
const TASKS = Number(values.tasks);
const ROUNDS = Number(values.rounds);

const framework = { id: frameworkId('fw'), user: 'u', name: 'storm', failover_timeout: 3600 };
const infos: AgentInfo[] = Array.from({ length: AGENTS }, (_, i) => ({
  hostname: `host-${i}`,
  port: 5051,
  id: agentId(`agent-${i}`),
  resources: Resources.parse('cpus:4;mem:8192').toWire('post-refinement'),
}));
let state: RegistryState = EMPTY_REGISTRY_STATE;
for (const info of infos) state = applyOperation(state, { kind: 'admitAgent', agent: info });

function reported(i: number): AgentTask[] {
  return Array.from({ length: TASKS }, (_, t) => ({
    framework_id: framework.id,
    framework_info: framework,
    state: 'TASK_RUNNING',
    task: {
      name: `held-${i}-${t}`,
      task_id: taskId(`held-${i}-${t}`),
      agent_id: agentId(`agent-${i}`),
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: '*' } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: '*' } },
      ],
    },
  }));
}

const cpuMs = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};
for (let round = 1; round <= ROUNDS; round++) {
  // Each SUBSCRIBE as it arrives parsed from the wire: new objects for every agent.
  const calls = infos.map((info, i) => ({
    agent_info: JSON.parse(JSON.stringify({ ...info, id: undefined })) as AgentInfo,
    version: MESOS_API_VERSION,
    tasks: JSON.parse(JSON.stringify(reported(i))) as AgentTask[],
  }));
  const bed = new CoreBed({ agentReregisterTimeoutMs: 600_000 });
  const recoverFrom = process.cpuUsage();
  recoverRegistry(bed.core, state);
  const recoverMs = cpuMs(recoverFrom);
  const subscribeFrom = process.cpuUsage();
  for (const [i, call] of calls.entries()) {
    const id = agents.subscribe(bed.core, call, `agent-${i}`, '127.0.0.1', `s-${i}`);
    if (id === undefined) throw new Error(`agent-${i} refused: ${JSON.stringify(bed.drain())}`);
    if (i % 100 === 99) bed.core.outbox.take();
  }
  const subscribeMs = cpuMs(subscribeFrom);
  process.stderr.write(
    `round ${round}: recovery ${((recoverMs * 1000) / AGENTS).toFixed(1)} µs/agent, ` +
      `re-subscribe ${((subscribeMs * 1000) / AGENTS).toFixed(1)} µs/agent ` +
      `(${AGENTS} agents × ${TASKS} tasks)\n`,
  );
}
