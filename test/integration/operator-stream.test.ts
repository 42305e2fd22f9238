// The operator event stream as a dashboard follows it: POST /api/v1 SUBSCRIBE,
// the whole state first, then each change as it happens (WIRE §6.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStream, subscribe } from '../../src/sdk/index.js';
import { RecordIODecoder } from '../../src/wire/index.js';
import { EventQueue, launchOne } from './events.js';
import { startCluster, waitFor } from './harness.js';

type OperatorEvent = { type: string } & Record<string, Record<string, unknown>>;

test('the operator event stream starts with the state and reports frameworks, tasks and agents', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const response = await openStream(new URL('/api/v1', cluster.masterUrl), {
    method: 'POST',
    body: JSON.stringify({ type: 'SUBSCRIBE' }),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
  });
  t.after(() => response.destroy());
  assert.equal(response.statusCode, 200);
  const seen: OperatorEvent[] = [];
  const decoder = new RecordIODecoder();
  response.on('data', (chunk: Buffer) => {
    for (const record of decoder.decode(chunk))
      seen.push(JSON.parse(record.toString('utf8')) as OperatorEvent);
  });
  const next = (type: string, match: (e: OperatorEvent) => boolean = () => true) =>
    waitFor(`a ${type} event`, () => seen.find((e) => e.type === type && match(e)));

  const subscribed = await next('SUBSCRIBED');
  const state = subscribed.subscribed?.get_state as { get_agents: { agents: unknown[] } };
  assert.equal(state.get_agents.agents.length, 1, 'SUBSCRIBED carries the state');

  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'watched' },
  });
  const added = await next('FRAMEWORK_ADDED');
  const framework_added = added.framework_added as {
    framework: { framework_info: { name: string } };
  };
  assert.equal(framework_added.framework.framework_info.name, 'watched');

  await launchOne(framework, new EventQueue(framework), 'seen', 'sleep 30');
  const taskAdded = await next('TASK_ADDED');
  const task_added = taskAdded.task_added as { task: { state: string } };
  assert.equal(task_added.task.state, 'TASK_STAGING');
  await next('TASK_UPDATED', (e) => e.task_updated?.state === 'TASK_RUNNING');

  await framework.teardown();
  await framework.close();
  await next('TASK_UPDATED', (e) => e.task_updated?.state === 'TASK_KILLED');
  await next('FRAMEWORK_REMOVED');

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  await agent.stop();
  // A stopped agent's link breaks; it is reported when it turns unreachable, not before.
  assert.equal(seen.filter((e) => e.type === 'AGENT_REMOVED').length, 0);
});

test('GET /metrics is Prometheus text with the snapshot numbers and latency histograms', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'measured' },
  });
  t.after(() => framework.close());
  await launchOne(framework, new EventQueue(framework), 'counted', 'sleep 30');
  const response = await fetch(new URL('/metrics', cluster.masterUrl));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  assert.match(text, /^mesos_master_tasks_running 1$/m);
  assert.match(text, /^mesos_master_slaves_active 1$/m);
  assert.match(text, /^mesos_master_offer_accept_seconds_count 1$/m);
  assert.match(text, /^mesos_allocator_allocation_run_seconds_count [1-9]\d*$/m);
});
