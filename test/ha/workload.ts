// The framework of the HA tests, run as a process of its own so a fault can
// SIGKILL it: it launches `--long` long-running tasks, then keeps launching
// short ones (at most `--short` at once) until `<journal>.stop` exists; it
// acknowledges every update, follows the leading master through the
// coordinator (failing over with its framework id), reconciles its unsettled
// tasks after each subscription and every few seconds, and journals it all.
// Started again on the same journal, it carries on as the same framework.
//
//   node --import tsx test/ha/workload.ts --master zk://…/agora --journal <file>
//     --ran <file> [--long 50] [--short 6] [--short_seconds 1]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import {
  type AgentID,
  agentId,
  type Event,
  frameworkId,
  isTerminalState,
  type Offer,
  type TaskInfo,
  type TaskStatus,
  taskId,
} from '../../src/wire/index.js';
import { Journal, readJournal } from './journal.js';

const { values } = parseArgs({
  options: {
    master: { type: 'string' },
    journal: { type: 'string' },
    ran: { type: 'string' },
    long: { type: 'string', default: '50' },
    short: { type: 'string', default: '6' },
    short_seconds: { type: 'string', default: '1' },
  },
});
const master = values.master;
const journalPath = values.journal;
const ranPath = values.ran;
if (master === undefined || journalPath === undefined || ranPath === undefined)
  throw new Error('--master, --journal and --ran are required');
const LONG_COUNT = Number(values.long);
const SHORT_AT_ONCE = Number(values.short);
const SHORT_SECONDS = Number(values.short_seconds);
const STOP_FILE = `${journalPath}.stop`;
/** Per task: small, so 50 long and a few short ones fit two modest agents. */
const TASK_CPUS = 0.05;
const TASK_MEM_MB = 16;
/** Long tasks one offer takes at most: they spread over the agents. */
const LONG_PER_OFFER = 25;
const RECONCILE_INTERVAL_MS = 3000;
/** As long as a test could want: the master must keep the framework through every fault. */
const FAILOVER_TIMEOUT_S = 3600;

interface Known {
  readonly agentId: string;
  readonly isLong: boolean;
  lastState: string | undefined;
}

const journal = new Journal(journalPath);
const known = new Map<string, Known>();
let id: string | undefined;
let nextShort = 0;
for (const entry of readJournal(journalPath)) {
  if (entry.kind === 'subscribed') id = entry.framework_id;
  if (entry.kind === 'launch') {
    known.set(entry.task_id, { agentId: entry.agent_id, isLong: entry.long, lastState: undefined });
    if (!entry.long) nextShort = Math.max(nextShort, Number(entry.task_id.slice(2)) + 1);
  }
  if (entry.kind === 'update') {
    const task = known.get(entry.task_id);
    if (task !== undefined) task.lastState = entry.state;
  }
}
journal.append({ kind: 'started', pid: process.pid });

const isSettled = (task: Known) =>
  task.lastState !== undefined &&
  (isTerminalState(task.lastState as TaskStatus['state']) ||
    (task.isLong && task.lastState === 'TASK_RUNNING'));

function reconcileUnsettled(connection: SchedulerConnection, all: boolean): void {
  const tasks = [...known.entries()].filter(([, task]) =>
    all
      ? !isTerminalState((task.lastState ?? 'TASK_STAGING') as TaskStatus['state'])
      : !isSettled(task),
  );
  if (tasks.length === 0) return;
  journal.append({ kind: 'reconcile', task_ids: tasks.map(([taskIdValue]) => taskIdValue) });
  connection
    .reconcile(
      tasks.map(([taskIdValue, task]) => ({
        task_id: taskId(taskIdValue),
        agent_id: agentId(task.agentId),
      })),
    )
    .catch(() => {
      // The master is changing: the next subscription reconciles again.
    });
}

function onUpdate(connection: SchedulerConnection, status: TaskStatus): void {
  const taskIdValue = status.task_id.value;
  journal.append({
    kind: 'update',
    task_id: taskIdValue,
    state: status.state,
    ...(status.uuid !== undefined ? { uuid: status.uuid } : {}),
    ...(status.reason !== undefined ? { reason: status.reason } : {}),
    ...(status.message !== undefined ? { message: status.message } : {}),
    ...(status.source !== undefined ? { source: status.source } : {}),
  });
  const task = known.get(taskIdValue);
  if (task !== undefined) task.lastState = status.state;
  const uuid = status.uuid;
  if (uuid === undefined) return;
  connection.acknowledge(status).then(
    () =>
      journal.append({ kind: 'ack', task_id: taskIdValue, uuid, state: status.state, ok: true }),
    (error: Error) =>
      journal.append({
        kind: 'ack',
        task_id: taskIdValue,
        uuid,
        state: status.state,
        ok: false,
        error: error.message,
      }),
  );
}

function taskInfo(taskIdValue: string, agent: AgentID, command: string): TaskInfo {
  return {
    name: taskIdValue,
    task_id: taskId(taskIdValue),
    agent_id: agent,
    command: { value: command },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: TASK_CPUS } },
      { name: 'mem', type: 'SCALAR', scalar: { value: TASK_MEM_MB } },
    ],
  };
}

function scalar(offer: Offer, name: string): number {
  return offer.resources
    .filter((r) => r.name === name && r.scalar !== undefined)
    .reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
}

async function onOffers(connection: SchedulerConnection, offers: readonly Offer[]): Promise<void> {
  const isLaunching = !existsSync(STOP_FILE);
  for (const offer of offers) {
    const fits = Math.floor(
      Math.min(scalar(offer, 'cpus') / TASK_CPUS, scalar(offer, 'mem') / TASK_MEM_MB) + 1e-9,
    );
    const launches: TaskInfo[] = [];
    if (isLaunching) {
      for (let i = 0; i < LONG_COUNT && launches.length < Math.min(fits, LONG_PER_OFFER); i++) {
        const taskIdValue = `l-${i}`;
        if (known.has(taskIdValue)) continue;
        launches.push(
          taskInfo(
            taskIdValue,
            offer.agent_id,
            `echo ${taskIdValue} $$ >> ${ranPath}; exec sleep 3600`,
          ),
        );
      }
      const shortRunning = [...known.values()].filter(
        (t) =>
          !t.isLong && !isTerminalState((t.lastState ?? 'TASK_STAGING') as TaskStatus['state']),
      ).length;
      for (let n = shortRunning; n < SHORT_AT_ONCE && launches.length < fits; n++) {
        const taskIdValue = `s-${nextShort++}`;
        launches.push(
          taskInfo(
            taskIdValue,
            offer.agent_id,
            `echo ${taskIdValue} $$ >> ${ranPath}; sleep ${SHORT_SECONDS}`,
          ),
        );
      }
    }
    if (launches.length === 0) {
      await connection.decline([offer.id], { refuse_seconds: 1 }).catch(() => undefined);
      continue;
    }
    for (const task of launches) {
      known.set(task.task_id.value, {
        agentId: offer.agent_id.value,
        isLong: task.task_id.value.startsWith('l-'),
        lastState: undefined,
      });
      journal.append({
        kind: 'launch',
        task_id: task.task_id.value,
        agent_id: offer.agent_id.value,
        long: task.task_id.value.startsWith('l-'),
      });
    }
    const taskIds = launches.map((t) => t.task_id.value);
    await connection
      .accept([offer.id], [{ type: 'LAUNCH', launch: { task_infos: launches } }], {
        refuse_seconds: 0.2,
      })
      .then(
        () => journal.append({ kind: 'accept', task_ids: taskIds, ok: true }),
        (error: Error) =>
          journal.append({ kind: 'accept', task_ids: taskIds, ok: false, error: error.message }),
      );
  }
}

async function connect(): Promise<SchedulerConnection> {
  const deadline = performance.now() + 10 * 60_000;
  for (;;) {
    try {
      return await subscribe({
        master: master as string,
        frameworkInfo: {
          user: 'test',
          name: 'ha-workload',
          failover_timeout: FAILOVER_TIMEOUT_S,
          checkpoint: true,
          capabilities: [{ type: 'PARTITION_AWARE' }],
          ...(id !== undefined ? { id: frameworkId(id) } : {}),
        },
        autoAcknowledge: false,
        failover: { timeoutMs: FAILOVER_TIMEOUT_S * 1000, backoffMaxMs: 1000 },
      });
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

const connection = await connect();
const subscribed = (masterUrl: string) => {
  id = connection.frameworkId.value;
  journal.append({ kind: 'subscribed', framework_id: id, master: masterUrl });
  reconcileUnsettled(connection, true);
};
subscribed(connection.master.href);
const reconciler = setInterval(() => reconcileUnsettled(connection, false), RECONCILE_INTERVAL_MS);
process.once('SIGTERM', () => {
  clearInterval(reconciler);
  void connection.close({ drainMs: 1000 }).finally(() => process.exit(0));
});

for await (const event of connection.events() as AsyncGenerator<Event>) {
  if (event.type === 'SUBSCRIBED') subscribed(connection.master.href);
  else if (event.type === 'UPDATE') onUpdate(connection, event.update.status);
  // Not awaited: an ACCEPT stuck at a paused master must not stop the events.
  else if (event.type === 'OFFERS') void onOffers(connection, event.offers.offers);
  else if (event.type === 'ERROR') {
    process.stderr.write(`the master refused the framework: ${event.error.message}\n`);
    process.exit(1);
  }
}
