// Oversized and deeply nested input against a real master (issue #7, items 5 and 6): each is
// refused with a 4xx that names the field, and nothing of it reaches state, metrics or logs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Cluster, startCluster, waitFor } from './harness.js';

const ONE_MB = 'x'.repeat(1_000_000);

describe('a master refuses unbounded input', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ agents: 0, masterArgs: ['--max_request_body', '4MB'] });
  });
  after(() => cluster?.stop());

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(new URL(path, cluster.masterUrl), {
      method: path === '/master/weights' ? 'PUT' : 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      // An accepted SUBSCRIBE would answer with a stream that never ends.
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: await response.text() };
  };
  const size = async (path: string) =>
    (await (await fetch(new URL(path, cluster.masterUrl))).text()).length;

  test('a framework with a 1 MB name, user or role gets 400 naming the field', async () => {
    for (const field of ['name', 'user', 'role']) {
      const info = { user: 'u', name: 'n', [field]: ONE_MB };
      const reply = await post(
        '/api/v1/scheduler',
        JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: info } }),
      );
      assert.equal(reply.status, 400, field);
      assert.match(
        reply.body,
        new RegExp(`^subscribe\\.framework_info\\.${field}: at most \\d+ characters\\n$`),
      );
    }
    assert.ok((await size('/metrics/snapshot')) < 100_000);
    assert.ok((await size('/master/state')) < 100_000);
  });

  test('weights and quota with a 1 MB role or 100,000 entries get 400, and /master/roles stays small', async () => {
    const calls: [name: string, path: string, body: unknown, message: RegExp][] = [
      [
        'UPDATE_WEIGHTS with a 1 MB role',
        '/api/v1',
        { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: ONE_MB, weight: 2 }] } },
        /^update_weights\.weight_infos\[0\]\.role: role 'x+…' \(1000000 characters\) is longer than 1024 bytes\n$/,
      ],
      [
        'UPDATE_WEIGHTS with 100,000 entries',
        '/api/v1',
        {
          type: 'UPDATE_WEIGHTS',
          update_weights: {
            weight_infos: Array.from({ length: 100_000 }, (_, i) => ({ role: `r${i}`, weight: 1 })),
          },
        },
        /^update_weights\.weight_infos: at most 1024 entries\n$/,
      ],
      [
        'UPDATE_QUOTA with a 1 MB role',
        '/api/v1',
        { type: 'UPDATE_QUOTA', update_quota: { quota_configs: [{ role: ONE_MB }] } },
        /^update_quota\.quota_configs\[0\]\.role: .*longer than 1024 bytes\n$/,
      ],
      [
        'PUT /master/weights with a 1 MB role',
        '/master/weights',
        [{ role: ONE_MB, weight: 2 }],
        /^\[0\]\.role: .*longer than 1024 bytes\n$/,
      ],
    ];
    for (const [name, path, body, message] of calls) {
      const reply = await post(path, JSON.stringify(body));
      assert.equal(reply.status, 400, name);
      assert.match(reply.body, message, name);
    }
    assert.ok((await size('/master/roles')) < 10_000);
    assert.ok((await size('/master/weights')) < 10_000);
  });

  test('a weights update is logged by its count and a few roles, never whole', async () => {
    const weight_infos = Array.from({ length: 1024 }, (_, i) => ({ role: `team-${i}`, weight: 2 }));
    const reply = await post(
      '/api/v1',
      JSON.stringify({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos } }),
    );
    assert.equal(reply.status, 200, reply.body);
    const line = await waitFor('the weights log line', () =>
      cluster.master.lines.find((l) => l.msg === 'weights updated'),
    );
    assert.equal(line.count, 1024);
    assert.deepEqual(line.roles, ['team-0', 'team-1', 'team-2', 'team-3', 'team-4']);
    assert.ok(JSON.stringify(line).length < 1000);
  });

  test('10,000-deep JSON gets 400 on every JSON route', async () => {
    const deep = `{"type":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    for (const path of [
      '/api/v1',
      '/api/v1/scheduler',
      '/master/api/v1/agent',
      '/master/weights',
    ]) {
      const reply = await post(path, deep);
      assert.equal(reply.status, 400, path);
      assert.match(reply.body, /nested deeper than 64 levels/, path);
    }
  });

  test("an agent's UPDATES call of more than 1,024 updates gets 400 naming the list", async () => {
    const update = {
      framework_id: { value: 'f' },
      status: { task_id: { value: 't' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR' },
    };
    const call = (count: number) =>
      JSON.stringify({
        type: 'UPDATES',
        agent_id: { value: 'no-such-agent' },
        updates: { updates: Array.from({ length: count }, () => update) },
      });
    const tooMany = await post('/master/api/v1/agent', call(1025));
    assert.equal(tooMany.status, 400, tooMany.body);
    assert.match(tooMany.body, /updates\.updates.*at most 1024 entries/);
    // Within the limit the call is valid; this agent is unknown.
    const unknown = await post('/master/api/v1/agent', call(1024));
    assert.equal(unknown.status, 400, unknown.body);
    assert.match(unknown.body, /agent_id.*Agent cannot be found/);
  });

  test('a body over --max_request_body gets 413', async () => {
    const reply = await post(
      '/api/v1',
      JSON.stringify({ type: 'GET_HEALTH', pad: 'x'.repeat(5 * 2 ** 20) }),
    );
    assert.equal(reply.status, 413);
    assert.match(reply.body, /exceeds 4194304 bytes \(--max_request_body\)/);
  });

  test('/master/tasks refuses a limit or offset that is not a count', async () => {
    for (const query of ['limit=abc', 'offset=-1', 'limit=1e309']) {
      const response = await fetch(new URL(`/master/tasks?${query}`, cluster.masterUrl));
      assert.equal(response.status, 400, query);
    }
    assert.equal(
      (await fetch(new URL('/master/tasks?limit=5&offset=0', cluster.masterUrl))).status,
      200,
    );
  });
});
