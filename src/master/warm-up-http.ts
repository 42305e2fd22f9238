// A standby's rehearsal of the HTTP side of an agent's re-registration (#10). warm-up.ts
// runs the core's path (the body's check, recovery, subscribe) on scratch state, but a
// newly elected leader still met every agent with HTTP code V8 had never optimized: the
// server's dispatch and routing, reading the body, the agent API's handler, the turn
// budget, opening the event stream and writing SUBSCRIBED to a socket (its first round of
// re-registrations cost ~1.6× a later one after the core's rehearsal alone).
//
// Here a scratch Master (the same class the leader builds, so every one of those functions
// is the leader's own) listens on an ephemeral loopback port with an in-memory registry of
// synthetic agents, a manual clock (no timer of its own fires) and a silent logger, and
// this process sends it each agent's SUBSCRIBE over a connection of its own, as agents do
// after a failover, reads SUBSCRIBED and hangs up. Then the scratch master stops. Nothing
// reaches the real master, the coordinator or the registry; a few requests at a time, so
// that the standby's own /health and redirects keep answering.
import { request as httpRequest } from 'node:http';
import { HierarchicalAllocator } from '../allocator/index.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  InMemoryRegistry,
  type RegistryState,
} from '../registry/index.js';
import { ManualClock, silentLogger } from '../runtime/index.js';
import type { AgentInfo } from '../wire/index.js';
import { Master } from './master.js';
import { rehearsalAgent, rehearsalSubscribe } from './warm-up.js';

export interface HttpRehearsalOptions {
  /** Synthetic agents per round (each re-registers once per round). */
  readonly agents?: number;
  /** Running tasks each agent reports (adopted: the scratch master never heard of them). */
  readonly tasksPerAgent?: number;
  /** Rounds, each a fresh scratch master recovering the agents. */
  readonly rounds?: number;
  /** Requests in flight at once. */
  readonly inFlight?: number;
  /** Aborted (elected, stopping): no new request; those in flight are cut; the master stops. */
  readonly signal?: AbortSignal;
}

export interface HttpRehearsalResult {
  /** SUBSCRIBEs answered 200 with a first record. */
  readonly subscribed: number;
  /** SUBSCRIBEs that failed (not 200, or the connection broke first). */
  readonly failed: number;
  readonly aborted: boolean;
}

// V8 optimizes a function after a few thousand calls (warm-up.ts); the core's functions
// have had those from the core's rehearsal, the HTTP ones get 2 × 1,000 here: about
// 1-2 s of a standby's CPU, once (the requests' client side is this process too).
const DEFAULTS = { agents: 1000, tasksPerAgent: 10, rounds: 2, inFlight: 8 } as const;
const AGENT_API = '/master/api/v1/agent';

/** Runs the agents' SUBSCRIBE through a scratch master over loopback; leaves no handle behind. */
export async function rehearseReregistrationHttp(
  options: HttpRehearsalOptions = {},
): Promise<HttpRehearsalResult> {
  const count = options.agents ?? DEFAULTS.agents;
  const tasksPerAgent = options.tasksPerAgent ?? DEFAULTS.tasksPerAgent;
  const rounds = options.rounds ?? DEFAULTS.rounds;
  const inFlight = Math.max(1, options.inFlight ?? DEFAULTS.inFlight);
  const signal = options.signal ?? new AbortController().signal;
  const infos = Array.from({ length: count }, (_, i) => rehearsalAgent(i));
  let state: RegistryState = EMPTY_REGISTRY_STATE;
  for (const info of infos) state = applyOperation(state, { kind: 'admitAgent', agent: info });
  const bodies = infos.map((info, i) =>
    Buffer.from(JSON.stringify(rehearsalSubscribe(info as AgentInfo, i, tasksPerAgent))),
  );
  const result = { subscribed: 0, failed: 0, aborted: false };
  for (let round = 0; round < rounds; round++) {
    if (signal.aborted) return { ...result, aborted: true };
    const master = scratchMaster(state);
    try {
      const url = new URL(AGENT_API, await master.start());
      let next = 0;
      const worker = async () => {
        while (next < bodies.length && !signal.aborted) {
          const body = bodies[next++] as Buffer;
          if (await subscribeOnce(url, body, signal)) result.subscribed++;
          else if (!signal.aborted) result.failed++;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
    } finally {
      await master.stop();
    }
  }
  return { ...result, aborted: signal.aborted };
}

function scratchMaster(state: RegistryState): Master {
  return new Master({
    id: 'rehearsal',
    ip: '127.0.0.1',
    port: 0,
    registry: new InMemoryRegistry({ initial: state }),
    allocator: new HierarchicalAllocator({ random: () => 0.5 }),
    allocationIntervalMs: 1000,
    heartbeatIntervalMs: 15_000,
    agentReregisterTimeoutMs: 600_000,
    agentPingTimeoutMs: 15_000,
    maxAgentPingTimeouts: 5,
    frameworkReregisterTimeoutMs: 10_000,
    clock: new ManualClock(Date.now()),
    logger: silentLogger(),
  });
}

/**
 * One agent's SUBSCRIBE on a connection of its own (as each agent has): true once the
 * answer is 200 and its first record (SUBSCRIBED) has arrived; then the connection is cut.
 */
function subscribeOnce(url: URL, body: Buffer, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const request = httpRequest(url, {
      method: 'POST',
      agent: false,
      signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': body.length,
      },
    });
    request.on('error', () => resolve(false));
    request.on('response', (response) => {
      response.on('error', () => resolve(false));
      if (response.statusCode !== 200) {
        response.resume();
        response.on('end', () => resolve(false));
        return;
      }
      response.once('data', () => {
        resolve(true);
        request.destroy();
      });
      response.on('end', () => resolve(false));
    });
    request.end(body);
  });
}
