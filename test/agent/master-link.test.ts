// The agent's master link against a small real HTTP master: what a long-lived
// agent must not accumulate on its one lifetime signal (#9: with more than ten
// status updates in flight Node printed MaxListenersExceededWarning).
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { MasterLink } from '../../src/agent/master-link.js';
import { silentLogger, systemClock } from '../../src/runtime/index.js';
import {
  type AgentTask,
  encodeRecord,
  limits,
  reportIn,
  type TaskStatus,
  taskId,
} from '../../src/wire/index.js';

interface FakeMaster {
  readonly url: URL;
  readonly calls: Record<string, number>;
  /** Task ids of the status updates received, in order, whatever call carried them. */
  readonly updates: string[];
  /** Each SUBSCRIBE's `subscribe`, as received. */
  readonly subscribes: Record<string, unknown>[];
}

interface UpdateBody {
  readonly status: { readonly task_id: { readonly value: string } };
}

/** A master that answers SUBSCRIBE with `subscribe` and every other call with 202, a turn later. */
async function fakeMaster(
  t: TestContext,
  subscribe: (response: ServerResponse, body: Record<string, unknown>) => void,
): Promise<FakeMaster> {
  const calls: Record<string, number> = {};
  const updates: string[] = [];
  const subscribes: Record<string, unknown>[] = [];
  const streams: ServerResponse[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      type: string;
      update?: UpdateBody;
      updates?: { updates: UpdateBody[] };
      pong?: boolean;
      subscribe?: Record<string, unknown>;
    };
    calls[call.type] = (calls[call.type] ?? 0) + 1;
    if (call.pong === true) calls['pong: true'] = (calls['pong: true'] ?? 0) + 1;
    for (const update of [
      ...(call.update !== undefined ? [call.update] : []),
      ...(call.updates?.updates ?? []),
    ])
      updates.push(update.status.task_id.value);
    if (call.type === 'SUBSCRIBE') {
      streams.push(response);
      subscribes.push(call.subscribe ?? {});
      subscribe(response, call.subscribe ?? {});
      return;
    }
    setImmediate(() => response.writeHead(202).end());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => {
    for (const stream of streams) stream.destroy();
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}`), calls, updates, subscribes };
}

function subscribed(response: ServerResponse, more: Record<string, unknown> = {}): void {
  response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 'stream-1' });
  response.write(
    encodeRecord(
      JSON.stringify({
        type: 'SUBSCRIBED',
        subscribed: {
          agent_id: { value: 'agent-1' },
          heartbeat_interval_seconds: 15,
          master_info: { id: 'master', ip: 0, port: 5050 },
          ...more,
        },
      }),
    ),
  );
}

/** Node's warnings while the test runs. */
function warnings(t: TestContext): string[] {
  const seen: string[] = [];
  const onWarning = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  return seen;
}

function link(master: URL, onSubscribed: () => void = () => undefined): MasterLink {
  return new MasterLink({
    locate: async () => master,
    clock: systemClock,
    logger: silentLogger(),
    random: () => 1,
    backoffInitialMs: 1,
    backoffMaxMs: 2,
    subscribeCall: () =>
      ({ type: 'SUBSCRIBE', subscribe: { agent_info: { hostname: 'h' } } }) as never,
    onSubscribed,
    onEvent: () => undefined,
    onDisconnected: () => undefined,
  });
}

/** The abort listeners on the link's lifetime signal: what would pile up. */
function abortListeners(masterLink: MasterLink): number {
  const abort = Reflect.get(masterLink, 'abort') as AbortController;
  return getEventListeners(abort.signal, 'abort').length;
}

const status = (i: number) =>
  ({ task_id: taskId(`t${i}`), state: 'TASK_RUNNING', uuid: 'dXVpZA==' }) as TaskStatus;

test('master link: 1,000 status updates in flight leave no abort listener behind', async (t) => {
  const seen = warnings(t);
  const master = await fakeMaster(t, subscribed);
  let onSubscribed = () => {};
  const isSubscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const agentLink = link(master.url, onSubscribed);
  agentLink.start();
  t.after(() => agentLink.stop());
  await isSubscribed;
  const before = abortListeners(agentLink);

  await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      agentLink.sendUpdate({ framework_id: { value: 'f' }, status: status(i) } as never),
    ),
  );
  // Asked for in one loop round: one UPDATES call of at most MAX_AGENT_UPDATES each, in order.
  assert.deepEqual(
    master.updates,
    Array.from({ length: 1000 }, (_, i) => `t${i}`),
  );
  assert.equal(master.calls.UPDATES, 1);
  assert.equal(master.calls.UPDATE, undefined);
  assert.equal(abortListeners(agentLink), before);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    seen.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    [],
  );
});

test('master link: retrying a refusing master leaves no abort listener per attempt', async (t) => {
  const seen = warnings(t);
  const master = await fakeMaster(t, (response) => response.writeHead(503).end('not yet'));
  const agentLink = link(master.url);
  agentLink.start();
  t.after(() => agentLink.stop());
  const deadline = performance.now() + 20_000;
  while ((master.calls.SUBSCRIBE ?? 0) < 30 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok((master.calls.SUBSCRIBE ?? 0) >= 30, 'the link kept retrying');
  // At most the one of the backoff it may be sleeping in now.
  assert.ok(abortListeners(agentLink) <= 1, `${abortListeners(agentLink)} abort listeners`);
  assert.deepEqual(
    seen.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    [],
  );
});

test('master link: a new leader takes the agent off a master that went silent', async (t) => {
  // The old leader keeps its stream open and says nothing, as a paused process does:
  // heartbeats would take 5 × 15 s to tell. The election tells at once.
  const old = await fakeMaster(t, subscribed);
  const next = await fakeMaster(t, subscribed);
  let leader = old.url;
  const listeners = new Set<(url: URL) => void>();
  const masters: string[] = [];
  const agentLink = new MasterLink({
    locate: async () => leader,
    onLeaderChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clock: systemClock,
    logger: silentLogger(),
    random: () => 0,
    backoffInitialMs: 1000,
    backoffMaxMs: 1000,
    subscribeCall: () =>
      ({ type: 'SUBSCRIBE', subscribe: { agent_info: { hostname: 'h' } } }) as never,
    onSubscribed: () => masters.push(leader.host),
    onEvent: () => undefined,
    onDisconnected: () => undefined,
  });
  agentLink.start();
  t.after(() => agentLink.stop());
  const until = async (count: number) => {
    const deadline = performance.now() + 5000;
    while (masters.length < count && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await until(1);
  assert.deepEqual(masters, [old.url.host]);

  leader = next.url;
  for (const listener of listeners) listener(next.url);
  await until(2);
  assert.deepEqual(masters, [old.url.host, next.url.host]);
  assert.equal(next.calls.SUBSCRIBE, 1);
});

test('master link: updates of one loop round share a call, cut at the limit; a lone one is an UPDATE', async (t) => {
  const master = await fakeMaster(t, subscribed);
  let onSubscribed = () => {};
  const isSubscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const agentLink = link(master.url, onSubscribed);
  agentLink.start();
  t.after(() => agentLink.stop());
  await isSubscribed;
  const count = limits.MAX_AGENT_UPDATES + 3;
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      agentLink.sendUpdate({ framework_id: { value: 'f' }, status: status(i) } as never),
    ),
  );
  assert.equal(master.calls.UPDATES, 2, 'one call per MAX_AGENT_UPDATES');
  await agentLink.sendUpdate({ framework_id: { value: 'f' }, status: status(count) } as never);
  assert.equal(master.calls.UPDATE, 1, 'alone in its round: a plain UPDATE');
  assert.deepEqual(
    master.updates,
    Array.from({ length: count + 1 }, (_, i) => `t${i}`),
  );
});

test('master link: every update of a batch the master refuses is refused', async (t) => {
  const master = await fakeMaster(t, subscribed);
  const agentLink = link(master.url);
  // Never subscribed: the call cannot be sent, and each caller hears so.
  const results = await Promise.allSettled(
    Array.from({ length: 3 }, (_, i) =>
      agentLink.sendUpdate({ framework_id: { value: 'f' }, status: status(i) } as never),
    ),
  );
  assert.deepEqual(
    results.map((result) => result.status),
    ['rejected', 'rejected', 'rejected'],
  );
  assert.deepEqual(master.updates, []);
});

test('master link: a master whose PINGs stop (it marked the agent unreachable) is subscribed to again', async (t) => {
  // The stream stays open and silent, as behind a partition that dropped its end:
  // heartbeats would take 5 × 15 s to tell; the master's ping timeout tells sooner.
  const master = await fakeMaster(t, (response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's' });
    response.write(
      encodeRecord(
        JSON.stringify({
          type: 'SUBSCRIBED',
          subscribed: {
            agent_id: { value: 'agent-1' },
            heartbeat_interval_seconds: 15,
            master_info: { id: 'master', ip: 0, port: 5050 },
            total_ping_timeout_seconds: 0.2,
          },
        }),
      ),
    );
  });
  let subscriptions = 0;
  const agentLink = link(master.url, () => {
    subscriptions += 1;
  });
  agentLink.start();
  t.after(() => agentLink.stop());
  const startedAt = performance.now();
  const deadline = startedAt + 10_000;
  while (subscriptions < 2 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(subscriptions >= 2, true, 'subscribed again after the PINGs stopped');
  assert.ok(performance.now() - startedAt < 5000, 'well before 5 heartbeats (75 s)');
});

test('master link: a PING is answered by the next update call (pong: true) or, with none, by a PONG', async (t) => {
  let stream: ServerResponse | undefined;
  const master = await fakeMaster(t, (response) => {
    stream = response;
    response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's' });
    response.write(
      encodeRecord(
        JSON.stringify({
          type: 'SUBSCRIBED',
          subscribed: {
            agent_id: { value: 'agent-1' },
            heartbeat_interval_seconds: 15,
            master_info: { id: 'master', ip: 0, port: 5050 },
            // A fold window of 1 s (at most a twentieth of this).
            total_ping_timeout_seconds: 75,
            folds_pongs: true,
          },
        }),
      ),
    );
  });
  let onSubscribed = () => {};
  const isSubscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const agentLink = link(master.url, onSubscribed);
  agentLink.start();
  t.after(() => agentLink.stop());
  await isSubscribed;
  const waitFor = async (what: string, isDone: () => boolean) => {
    const deadline = performance.now() + 10_000;
    while (!isDone() && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(isDone(), what);
  };
  const ping = () => stream?.write(encodeRecord(JSON.stringify({ type: 'PING' })));

  ping();
  // The PING reaches the link within its window; the update sent after it carries the PONG.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await agentLink.sendUpdate({ framework_id: { value: 'f' }, status: status(1) } as never);
  assert.equal(master.calls['pong: true'], 1, 'the update call answered the PING');
  assert.equal(master.calls.PONG, undefined, 'no PONG call of its own');

  ping();
  await waitFor('a PONG alone once the window ends', () => master.calls.PONG === 1);
  assert.equal(master.calls['pong: true'], 1);
});

test('master link: a master that comes back during a long backoff is subscribed to within moments (#15)', async (t) => {
  // A port nothing listens on yet: the first SUBSCRIBE is refused, as when the link is down.
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const masterUrl = new URL(`http://127.0.0.1:${port}`);
  let onSubscribed = () => {};
  const isSubscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  // The first wait is 29.7 s of a 30 s backoff; the jitter after the link is back 0.3 s.
  const draws = [0.99, 0.01];
  const agentLink = new MasterLink({
    locate: async () => masterUrl,
    clock: systemClock,
    logger: silentLogger(),
    random: () => draws.shift() ?? 0.01,
    backoffInitialMs: 30_000,
    backoffMaxMs: 60_000,
    subscribeCall: () =>
      ({ type: 'SUBSCRIBE', subscribe: { agent_info: { hostname: 'h' } } }) as never,
    onSubscribed,
    onEvent: () => undefined,
    onDisconnected: () => undefined,
  });
  agentLink.start();
  t.after(() => agentLink.stop());
  await new Promise((resolve) => setTimeout(resolve, 300));
  const server = createServer((request, response) => {
    request.resume();
    subscribed(response);
  });
  server.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const listeningAt = performance.now();
  await Promise.race([
    isSubscribed,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('not subscribed within 10 s')), 10_000).unref(),
    ),
  ]);
  const tookMs = performance.now() - listeningAt;
  // Probe interval (0.5 s, refused) + jitter (0.3 s) + the call, wide for a loaded machine.
  assert.ok(tookMs < 5_000, `subscribed ${tookMs.toFixed(0)} ms after the master listened`);
});

test('master link: once the link is back the jitter is a random part of the spread the master told, not the backoff factor (#15)', async (t) => {
  let port = 0;
  let onSubscribed = () => {};
  let subscriptions = 0;
  let isSubscribedAgain = new Promise<void>(() => {});
  const isSubscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const serve = (listenPort: number) => {
    const server = createServer((request, response) => {
      request.resume();
      subscriptions += 1;
      response.writeHead(200, {
        'content-type': 'application/json',
        'mesos-stream-id': `stream-${subscriptions}`,
      });
      // No PINGs follow: 0.2 s × 1.5 after SUBSCRIBED the agent holds the link down.
      response.write(
        encodeRecord(
          JSON.stringify({
            type: 'SUBSCRIBED',
            subscribed: {
              agent_id: { value: 'agent-1' },
              heartbeat_interval_seconds: 15,
              master_info: { id: 'master', ip: 0, port: 5050 },
              total_ping_timeout_seconds: 0.2,
              reregister_spread_ms: 50,
            },
          }),
        ),
      );
    });
    server.listen(listenPort, '127.0.0.1');
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    return server;
  };
  const first = serve(0);
  await new Promise((resolve) => first.once('listening', resolve));
  port = (first.address() as AddressInfo).port;
  // Every draw 0.99: a wait from the 30 s factor would be 29.7 s; from the master's 50 ms, 49.5 ms.
  const agentLink = new MasterLink({
    locate: async () => new URL(`http://127.0.0.1:${port}`),
    clock: systemClock,
    logger: silentLogger(),
    random: () => 0.99,
    backoffInitialMs: 30_000,
    backoffMaxMs: 60_000,
    subscribeCall: () =>
      ({ type: 'SUBSCRIBE', subscribe: { agent_info: { hostname: 'h' } } }) as never,
    onSubscribed: () => onSubscribed(),
    onEvent: () => undefined,
    onDisconnected: () => undefined,
  });
  agentLink.start();
  t.after(() => agentLink.stop());
  await isSubscribed;
  isSubscribedAgain = new Promise<void>((resolve) => (onSubscribed = resolve));
  // The master's port goes away (refused, as a down link), then comes back. Its stream stays
  // open but silent: the agent gives it up when the PINGs it was promised do not come.
  first.close();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const second = serve(port);
  await new Promise((resolve) => second.once('listening', resolve));
  const listeningAt = performance.now();
  await Promise.race([
    isSubscribedAgain,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('not subscribed again within 10 s')), 10_000).unref(),
    ),
  ]);
  const tookMs = performance.now() - listeningAt;
  // Probe (0.5 s, refused) + 49.5 ms + the call; 29.7 s had the factor been used. Wide margin.
  assert.ok(tookMs < 5_000, `subscribed again ${tookMs.toFixed(0)} ms after the master listened`);
});

/** A task of framework f-1's, as the agent's runs keep it (with its FrameworkInfo). */
const HELD_TASK: AgentTask = {
  framework_id: { value: 'f-1' } as never,
  framework_info: { user: 'u', name: 'f', id: { value: 'f-1' } as never },
  task: {
    name: 't',
    task_id: taskId('t-1'),
    agent_id: { value: 'agent-1' } as never,
    resources: [],
  },
  state: 'TASK_RUNNING',
};

/**
 * A link that follows the leader `leader()` names, and tells it of each new one. Its waits
 * are `draws` (taken in turn, 0 once none is left) of a minute.
 */
function followingLink(leader: () => URL, masters: string[], draws: number[] = []) {
  const listeners = new Set<(url: URL) => void>();
  const agentLink = new MasterLink({
    locate: async () => leader(),
    onLeaderChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clock: systemClock,
    logger: silentLogger(),
    random: () => draws.shift() ?? 0,
    backoffInitialMs: 60_000,
    backoffMaxMs: 60_000,
    // As the agent builds it (agent.ts): its tasks reported in the shape the link asks for.
    subscribeCall: (shape) =>
      ({
        type: 'SUBSCRIBE',
        subscribe: { agent_info: { hostname: 'h' }, version: '1', ...reportIn(shape, [HELD_TASK]) },
      }) as never,
    onSubscribed: () => masters.push(leader().host),
    onEvent: () => undefined,
    onDisconnected: () => undefined,
  });
  const elect = (url: URL) => {
    for (const listener of listeners) listener(url);
  };
  return { agentLink, elect };
}

async function until(what: string, isDone: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!isDone()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const shapeOf = (subscribe: Record<string, unknown>) =>
  subscribe.frameworks === undefined
    ? 'per task'
    : subscribe.task_resources === undefined
      ? 'frameworks once'
      : 'compact';

/**
 * A link follows a first leader, then a second, both saying they take `takes`: the SUBSCRIBEs
 * each got (the first before the link heard any master, the second after the first spoke).
 */
async function followedTwo(
  t: TestContext,
  takes: Record<string, unknown>,
): Promise<{
  readonly first: Record<string, unknown>[];
  readonly next: Record<string, unknown>[];
}> {
  const old = await fakeMaster(t, (response) => subscribed(response, takes));
  const next = await fakeMaster(t, (response) => subscribed(response, takes));
  let leader = old.url;
  const masters: string[] = [];
  const { agentLink, elect } = followingLink(() => leader, masters);
  agentLink.start();
  t.after(() => agentLink.stop());
  await until('SUBSCRIBED from the first leader', () => masters.length === 1);
  leader = next.url;
  elect(next.url);
  await until('SUBSCRIBED from the new leader', () => masters.length === 2);
  return { first: old.subscribes, next: next.subscribes };
}

test('master link: after a master said it takes frameworks once, a new leader gets each framework once', async (t) => {
  const subscribes = await followedTwo(t, { takes_frameworks_once: true });
  // Nothing heard from any master yet: the first SUBSCRIBE reports per task.
  assert.deepEqual(subscribes.first.map(shapeOf), ['per task']);
  // The new leader said nothing yet: the link sends what the last master said it takes.
  assert.deepEqual(subscribes.next.map(shapeOf), ['frameworks once']);
  assert.deepEqual(subscribes.next[0]?.frameworks, [
    { framework_id: HELD_TASK.framework_id, framework_info: HELD_TASK.framework_info },
  ]);
  assert.deepEqual(subscribes.next[0]?.tasks, [
    { framework_id: { value: 'f-1' }, task: HELD_TASK.task, state: 'TASK_RUNNING' },
  ]);
});

/**
 * A link that last heard a master taking `takes` follows a new leader that refuses the shape
 * `refuses` spots (answering 400 `refusal`, as an older master's schema does) and otherwise
 * says it takes `refuserTakes`: the shapes that leader got, then those the first got when it
 * leads again.
 */
async function refusedShape(
  t: TestContext,
  takes: Record<string, unknown>,
  refuses: (subscribe: Record<string, unknown>) => boolean,
  refusal: string,
  refuserTakes: Record<string, unknown>,
): Promise<{ readonly refuser: string[]; readonly firstAgain: string[] }> {
  const old = await fakeMaster(t, (response) => subscribed(response, takes));
  const refuser = await fakeMaster(t, (response, subscribe) => {
    if (refuses(subscribe)) response.writeHead(400).end(refusal);
    else subscribed(response, refuserTakes);
  });
  let leader = old.url;
  const masters: string[] = [];
  const draws: number[] = [];
  const { agentLink, elect } = followingLink(() => leader, masters, draws);
  agentLink.start();
  t.after(() => agentLink.stop());
  await until('SUBSCRIBED from the first leader', () => masters.length === 1);

  leader = refuser.url;
  // No wait before the new leader; a retry after a backoff would wait the whole minute.
  draws.push(0, 1);
  elect(refuser.url);
  await until('SUBSCRIBED from the refusing leader', () => masters.length === 2);
  draws.length = 0;
  leader = old.url;
  elect(old.url);
  await until('SUBSCRIBED from the first leader again', () => masters.length === 3);
  return { refuser: refuser.subscribes.map(shapeOf), firstAgain: old.subscribes.map(shapeOf) };
}

test('master link: a new leader that refuses frameworks once (an older master) gets the tasks per task at once', async (t) => {
  // As a master of the previous version answers: 400, its schema wanting framework_info.
  const shapes = await refusedShape(
    t,
    { takes_frameworks_once: true },
    (subscribe) => subscribe.frameworks !== undefined,
    'subscribe.tasks[0].framework_info: Invalid input: expected object',
    {},
  );
  assert.deepEqual(shapes.refuser, ['frameworks once', 'per task']);
  // It said nothing of the shape in SUBSCRIBED: the next leader gets per task too.
  assert.deepEqual(shapes.firstAgain, ['per task', 'per task']);
});

test('master link: after a master said it takes the compact report, a new leader gets it', async (t) => {
  const subscribes = await followedTwo(t, {
    takes_frameworks_once: true,
    takes_compact_report: true,
  });
  assert.deepEqual(subscribes.first.map(shapeOf), ['per task']);
  assert.deepEqual(subscribes.next.map(shapeOf), ['compact']);
  assert.deepEqual(subscribes.next[0]?.task_resources, [HELD_TASK.task.resources]);
  assert.deepEqual(subscribes.next[0]?.tasks, [
    {
      framework_id: { value: 'f-1' },
      task: { name: 't', task_id: HELD_TASK.task.task_id },
      resources_index: 0,
      state: 'TASK_RUNNING',
    },
  ]);
});

test('master link: a new leader of the previous version refuses the compact report and gets frameworks once at once', async (t) => {
  // As a master of the previous version answers the compact report: 400, the task's agent_id
  // missing; it takes frameworks once and says so.
  const shapes = await refusedShape(
    t,
    { takes_frameworks_once: true, takes_compact_report: true },
    (subscribe) => subscribe.task_resources !== undefined,
    'subscribe.tasks[0].task.agent_id: Invalid input: expected object',
    { takes_frameworks_once: true },
  );
  assert.deepEqual(shapes.refuser, ['compact', 'frameworks once']);
  // It said it takes frameworks once (not compact): the next leader gets that.
  assert.deepEqual(shapes.firstAgain, ['per task', 'frameworks once']);
});
