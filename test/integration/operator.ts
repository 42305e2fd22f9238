// Calls an operator makes in integration tests: the v1 operator API and the
// legacy JSON endpoints, answered by a real master.
import type { SchedulerConnection } from '../../src/sdk/index.js';
import { type Offer, type TaskStatus, taskId } from '../../src/wire/index.js';
import type { EventQueue } from './events.js';
import { waitFor } from './harness.js';

/** POST /api/v1 with a JSON call; throws unless the status is `expected`. Resolves with the body. */
export async function operatorCall(
  masterUrl: string,
  call: Record<string, unknown>,
  expected = 200,
): Promise<Record<string, unknown>> {
  const response = await fetch(new URL('/api/v1', masterUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(call),
  });
  const text = await response.text();
  if (response.status !== expected)
    throw new Error(`${String(call.type)} answered ${response.status}: ${text}`);
  const isJson = response.headers.get('content-type') === 'application/json';
  return isJson && text !== '' ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** POST to a legacy endpoint with a JSON body; throws unless the status is `expected`. */
export async function postJsonTo(
  masterUrl: string,
  path: string,
  body: unknown,
  expected = 200,
): Promise<void> {
  const response = await fetch(new URL(path, masterUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${path} answered ${response.status}: ${text}`);
}

export async function getJson(masterUrl: string, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(path, masterUrl));
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

export interface V1Agent {
  agent_info: { id: { value: string }; hostname: string };
  active: boolean;
  deactivated?: boolean;
  drain_info?: { state: string; config: { mark_gone?: boolean } };
}

/** GET_AGENTS' agents. */
export async function v1Agents(masterUrl: string): Promise<V1Agent[]> {
  const reply = await operatorCall(masterUrl, { type: 'GET_AGENTS' });
  const body = reply.get_agents as { agents?: V1Agent[] } | undefined;
  return body?.agents ?? [];
}

/** The next offer of `agentIdValue` (events before it stay queued). */
export async function offerOn(events: EventQueue, agentIdValue: string): Promise<Offer> {
  return waitFor(`an offer of agent ${agentIdValue}`, () => {
    for (const event of events.seen)
      if (event.type === 'OFFERS')
        for (const offer of event.offers.offers)
          if (offer.agent_id.value === agentIdValue) return offer;
    return undefined;
  });
}

/** Launches `command` (0.1 cpu, 32 MB) on `offer` and waits for TASK_RUNNING. */
export async function launchOn(
  framework: SchedulerConnection,
  events: EventQueue,
  offer: Offer,
  id: string,
  command: string,
): Promise<TaskStatus> {
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: id,
              task_id: taskId(id),
              agent_id: offer.agent_id,
              resources: [
                { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
              ],
              command: { value: command },
            },
          ],
        },
      },
    ],
  );
  return events.update(id, 'TASK_RUNNING');
}

/** Kills a process a test may leave behind (a task of an agent it stopped); gone is fine. */
export function killPid(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
