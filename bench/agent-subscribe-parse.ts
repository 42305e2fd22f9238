// In-process CPU of validating agents' SUBSCRIBE calls: the hand-written check
// (wire/fast-calls.ts) against the zod schema, on what a simulated agent sends when it
// re-registers after a master failover (10 running tasks; `0` for a first registration),
// its tasks reported per task, with each framework listed once, and compact (each resources
// list once too; wire/agent-report.ts), interleaved round by round. The last column adds
// reportedTasksOf, the tasks as the master's books take them (the compact report expanded).
//
//   node --import tsx bench/agent-subscribe-parse.ts [tasks per agent=10] [rich]
//
// `rich`: each FrameworkInfo as a long-running scheduler registers (Marathon's fields: roles,
// capabilities, principal, hostname, webui_url, checkpoint), not the simulator's few.
import { readFileSync } from 'node:fs';
import { fastAgentCall } from '../src/wire/fast-calls.js';
import {
  type AgentCall,
  type AgentTask,
  agentId,
  type ReportShape,
  reportedTasksOf,
  reportIn,
} from '../src/wire/index.js';
import { AgentCallSchema } from '../src/wire/schemas.js';

const TASKS = Number(process.argv[2] ?? 10);
const RICH = process.argv[3] === 'rich';
const frameworkInfo = RICH
  ? {
      user: 'marathon',
      name: 'marathon-user-services',
      id: { value: 'a8f1c3d2-5b6e-4f70-9a1b-2c3d4e5f6a7b-0001' },
      failover_timeout: 604800,
      checkpoint: true,
      roles: ['services', 'services/web'],
      hostname: 'marathon-2.prod.example.com',
      principal: 'marathon-user-services',
      webui_url: 'https://marathon-2.prod.example.com:8443',
      capabilities: ['MULTI_ROLE', 'PARTITION_AWARE', 'TASK_KILLING_STATE', 'GPU_RESOURCES'].map(
        (type) => ({ type }),
      ),
    }
  : {
      user: 'bench',
      name: 'bench-framework',
      id: { value: 'm-0001' },
      failover_timeout: 0,
      roles: ['*'],
      capabilities: [{ type: 'MULTI_ROLE' }],
    };
const CALLS = 10_000;
const resources = (role?: string) =>
  [
    { name: 'cpus', type: 'SCALAR', scalar: { value: role === undefined ? 1 : 0.1 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: role === undefined ? 320 : 32 } },
  ].map((r) => (role === undefined ? r : { ...r, allocation_info: { role } }));
const call = (i: number, shape: ReportShape) =>
  JSON.stringify({
    type: 'SUBSCRIBE',
    agent_id: { value: `m-S${i}` },
    subscribe: {
      agent_info: {
        hostname: `sim-${i}`,
        port: 5051,
        resources: resources(),
        id: { value: `m-S${i}` },
      },
      version: '1.11.0',
      ...reportIn(
        shape,
        Array.from({ length: TASKS }, (_, t) => ({
          framework_id: frameworkInfo.id,
          framework_info: frameworkInfo,
          task: {
            name: `t${i}-${t}`,
            task_id: { value: `t${i}-${t}` },
            agent_id: { value: `m-S${i}` },
            resources: resources('*'),
            command: { value: 'true' },
          },
          state: 'TASK_RUNNING',
        })) as unknown as AgentTask[],
      ),
    },
  });
const SHAPES = ['perTask', 'frameworksOnce', 'compact'] as const;
const bodiesOf = Object.fromEntries(
  SHAPES.map((shape) => [shape, Array.from({ length: CALLS }, (_, i) => call(i, shape))]),
) as Record<ReportShape, string[]>;
const cpuMs = (f: () => void) => {
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
console.log(`${CALLS} agent SUBSCRIBE calls with ${TASKS} tasks each; load ${load()}`);
for (const shape of SHAPES) {
  const bytes = bodiesOf[shape].reduce((sum, body) => sum + Buffer.byteLength(body), 0) / CALLS;
  console.log(`${shape}: ${bytes.toFixed(0)} bytes per SUBSCRIBE`);
}
const EXPANDED_FOR = agentId('m-S0');
/** The tasks as the books take them: the master's step after the check. */
const expand = (call: AgentCall | undefined) =>
  call?.type === 'SUBSCRIBE' ? reportedTasksOf(call.subscribe, EXPANDED_FOR).length : 0;
for (let round = 0; round < 9; round++) {
  const shape = SHAPES[round % SHAPES.length] as ReportShape;
  const bodies = bodiesOf[shape];
  let taken = 0;
  const zod = cpuMs(() => {
    for (const body of bodies) AgentCallSchema.parse(JSON.parse(body));
  });
  const fast = cpuMs(() => {
    for (const body of bodies) if (fastAgentCall(JSON.parse(body)) !== undefined) taken++;
  });
  const parseOnly = cpuMs(() => {
    for (const body of bodies) JSON.parse(body);
  });
  let tasks = 0;
  const expanded = cpuMs(() => {
    for (const body of bodies) tasks += expand(fastAgentCall(JSON.parse(body)));
  });
  console.log(
    `round ${round} ${shape}: JSON.parse alone ${parseOnly.toFixed(0)} ms; + zod ${zod.toFixed(0)} ms; + hand-written check ${fast.toFixed(0)} ms (${taken}/${CALLS} taken); validation alone ${(zod - parseOnly).toFixed(0)} → ${(fast - parseOnly).toFixed(0)} ms; + reportedTasksOf ${expanded.toFixed(0)} ms (${tasks} tasks) (load ${load()})`,
  );
}
