// Hostile input against the bundled frameworks' REST APIs, which the hostile-input suite of
// the master and agent does not reach: each bad request gets a 4xx naming what is wrong, never
// a 5xx, and what was stored before it is still there, unchanged, afterwards. The cases here
// are the ones a seeded fuzz of both APIs (the jobs framework's Metronome-like one, the
// services framework's Marathon-like one) found answered 5xx.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defer, startCluster } from './harness.js';
import { api, startJobs } from './jobs-harness.js';

/** JSON text of `leaf` inside `depth` arrays: built as text, as JSON.stringify would overflow. */
function nested(depth: number, leaf: string): string {
  return `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
}

test('jobs API: bodies nested thousands deep are 400 on every route that reads one', async (t) => {
  const cluster = await startCluster({ agents: 0 });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const created = await api(jobs.url, 'POST', '/v1/jobs', {
    id: 'kept',
    run: { cmd: 'true' },
    schedules: [{ id: 'nightly', cron: '0 3 * * *' }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const deep = nested(5000, '1');
  const bodies: readonly (readonly [string, string, string])[] = [
    // A PUT whose id differs from the path's echoes that id in its answer.
    ['PUT', '/v1/jobs/kept', `{"id":${deep},"run":{"cmd":"false"}}`],
    ['PUT', '/v1/jobs/kept/schedules/nightly', `{"id":${deep},"cron":"* * * * *"}`],
    ['POST', '/v1/jobs', `{"id":"other","run":{"cmd":"true"},"labels":${deep}}`],
    ['POST', '/v1/jobs/kept/schedules', `{"id":"s2","cron":${deep}}`],
    ['PUT', '/v1/jobs/kept', deep],
  ];
  for (const [method, path, body] of bodies) {
    const answer = await api<{ message: string; field?: string }>(jobs.url, method, path, body);
    assert.equal(answer.status, 400, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.field, 'body', `${method} ${path}`);
    assert.match(answer.body.message, /deeper than \d+ levels/);
  }
  const kept = await api<{ run: { cmd: string } }>(jobs.url, 'GET', '/v1/jobs/kept');
  assert.equal(kept.status, 200);
  assert.equal(kept.body.run.cmd, 'true');
  const schedule = await api<{ cron: string }>(jobs.url, 'GET', '/v1/jobs/kept/schedules/nightly');
  assert.equal(schedule.body.cron, '0 3 * * *');
  assert.equal((await api(jobs.url, 'GET', '/v1/jobs/other')).status, 404);
});
