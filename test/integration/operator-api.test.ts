// The v1 operator API (POST /api/v1, WIRE §6.1) of a real master: every call
// answers, the master's log is served as /master/log, and the logging level
// moves and comes back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MASTER_CALL_TYPES } from '../../src/wire/index.js';
import { type Cluster, startCluster, waitFor } from './harness.js';

/** Calls another part of #8 serves (volumes, maintenance, agents): not this suite's to judge. */
const OTHERS = new Set([
  'CREATE_VOLUMES',
  'DESTROY_VOLUMES',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'GET_MAINTENANCE_STATUS',
  'GET_MAINTENANCE_SCHEDULE',
  'UPDATE_MAINTENANCE_SCHEDULE',
  'START_MAINTENANCE',
  'STOP_MAINTENANCE',
  'DRAIN_AGENT',
  'DEACTIVATE_AGENT',
  'REACTIVATE_AGENT',
  'MARK_AGENT_GONE',
]);

/** A body each call type accepts; the call may still be refused (4xx) for what it names. */
const BODIES: Readonly<Record<string, unknown>> = {
  SET_LOGGING_LEVEL: { level: 1, duration: { nanoseconds: 60e9 } },
  LIST_FILES: { path: '/master/log' },
  READ_FILE: { path: '/master/log', offset: 0 },
  TEARDOWN: { framework_id: { value: 'none' } },
  UPDATE_WEIGHTS: { weight_infos: [{ role: 'eng', weight: 2 }] },
  UPDATE_QUOTA: { quota_configs: [] },
  SET_QUOTA: { quota_request: { role: 'q', guarantee: [] } },
  REMOVE_QUOTA: { role: 'q' },
  RESERVE_RESOURCES: { agent_id: { value: 'none' }, resources: [] },
  UNRESERVE_RESOURCES: { agent_id: { value: 'none' }, resources: [] },
};

describe('the operator API of a real master', () => {
  let cluster: Cluster;
  let logDir: string;
  before(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'agora-logs-'));
    cluster = await startCluster({ agents: 1, masterArgs: ['--log_dir', logDir] });
  });
  after(async () => {
    await cluster?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  const call = async (type: string, body?: unknown) => {
    const key = type.toLowerCase();
    const response = await fetch(new URL('/api/v1', cluster.masterUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body === undefined ? { type } : { type, [key]: body }),
      // SUBSCRIBE answers with a stream that does not end.
      signal: AbortSignal.timeout(10_000),
    });
    const text = type === 'SUBSCRIBE' ? '' : await response.text();
    if (type === 'SUBSCRIBE') await response.body?.cancel();
    return { status: response.status, text };
  };
  const reply = async (type: string, body?: unknown) => {
    const { status, text } = await call(type, body);
    assert.equal(status, 200, `${type}: ${text}`);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    assert.equal(parsed.type, type);
    return parsed[type.toLowerCase()] as Record<string, unknown>;
  };

  test('every master call of WIRE 6.1 answers something other than 404 or 501', async () => {
    const unanswered: string[] = [];
    for (const type of MASTER_CALL_TYPES) {
      if (OTHERS.has(type)) continue;
      const { status, text } = await call(type, BODIES[type]);
      if (status === 404 || status >= 500) unanswered.push(`${type}: ${status} ${text}`);
    }
    assert.deepEqual(unanswered, []);
  });

  test('GET_VERSION, GET_HEALTH, GET_FLAGS and GET_MASTER are shaped as WIRE 6.1', async () => {
    assert.deepEqual(await reply('GET_VERSION'), {
      version_info: { version: '1.11.0', build_date: '', build_time: 0, build_user: '' },
    });
    assert.deepEqual(await reply('GET_HEALTH'), { healthy: true });
    const { flags } = (await reply('GET_FLAGS')) as { flags: { name: string; value: string }[] };
    assert.ok(flags.some((f) => f.name === 'log_dir' && f.value === logDir));
    // As Mesos: every flag with its effective value, defaults included, not only those given.
    const value = (name: string) => flags.find((f) => f.name === name)?.value;
    assert.equal(value('agent_ping_timeout'), '15secs');
    assert.equal(value('max_agent_ping_timeouts'), '5');
    assert.equal(value('registry'), 'in_memory', 'a flag given wins over its default');
    const legacy = (await (await fetch(new URL('/master/flags', cluster.masterUrl))).json()) as {
      flags: Record<string, string>;
    };
    assert.equal(legacy.flags.agent_ping_timeout, '15secs');
    assert.equal(legacy.flags.log_dir, logDir);
    const master = await reply('GET_MASTER');
    assert.deepEqual(Object.keys(master).sort(), ['elected_time', 'master_info', 'start_time']);
    assert.equal(typeof master.start_time, 'number');
  });

  test('GET_EXECUTORS and GET_OPERATIONS answer with lists', async () => {
    assert.deepEqual(await reply('GET_EXECUTORS'), { executors: [] });
    assert.deepEqual(await reply('GET_OPERATIONS'), { operations: [] });
    const state = await reply('GET_STATE');
    assert.deepEqual(state.get_executors, { executors: [] });
  });

  test('GET_METRICS answers Mesos names, with or without a timeout', async () => {
    for (const body of [undefined, {}, { timeout: { nanoseconds: 5e9 } }]) {
      const { metrics } = (await reply('GET_METRICS', body)) as {
        metrics: { name: string; value: number }[];
      };
      const names = new Set(metrics.map((m) => m.name));
      for (const name of ['master/elected', 'master/slaves_active', 'master/messages_kill_task'])
        assert.ok(names.has(name), name);
    }
    const bad = await fetch(new URL('/metrics/snapshot?timeout=soon', cluster.masterUrl));
    assert.equal(bad.status, 400);
  });

  test("the master's log is /master/log for LIST_FILES, READ_FILE and /files, and nothing else is", async () => {
    await waitFor('the log file to hold the listening line', async () => {
      const { file_infos } = (await reply('LIST_FILES', { path: '/master/log' })) as {
        file_infos: { path: string; size: number; mode: number }[];
      };
      return (file_infos[0]?.size ?? 0) > 0 ? true : undefined;
    });
    const { size, data } = (await reply('READ_FILE', {
      path: '/master/log',
      offset: 0,
      length: 4096,
    })) as { size: number; data: string };
    const text = Buffer.from(data, 'base64').toString('utf8');
    assert.ok(size > 0 && text.length > 0);
    assert.match(text, /"msg":"listening"/);
    const past = (await reply('READ_FILE', { path: '/master/log', offset: 1e12 })) as {
      size: number;
      data: string;
    };
    assert.equal(past.data, '', 'past the end reads nothing');

    const legacy = await fetch(
      new URL('/files/read?path=/master/log&offset=-1', cluster.masterUrl),
    );
    const { offset } = (await legacy.json()) as { offset: number };
    assert.ok(offset >= size, 'offset -1 answers the size');
    const debug = (await (
      await fetch(new URL('/files/debug', cluster.masterUrl))
    ).json()) as Record<string, string>;
    assert.deepEqual(Object.keys(debug), ['/master/log']);

    for (const path of ['/etc/passwd', '/master/../etc/passwd', '/master/log/x', '/master', '/']) {
      assert.equal((await call('READ_FILE', { path, offset: 0 })).status, 404, path);
      assert.equal((await call('LIST_FILES', { path })).status, 404, path);
      const read = await fetch(
        new URL(`/files/read?path=${encodeURIComponent(path)}&offset=0`, cluster.masterUrl),
      );
      assert.equal(read.status, 404, path);
    }
  });

  test('SET_LOGGING_LEVEL quiets and raises the log, and GET_LOGGING_LEVEL follows', async () => {
    const handled = () => cluster.master.lines.filter((l) => l.msg === 'request handled').length;
    // The harness starts the master with --log_level debug: verbosity 1.
    assert.deepEqual(await reply('GET_LOGGING_LEVEL'), { level: 1 });
    assert.equal(
      (await call('SET_LOGGING_LEVEL', { level: 0, duration: { nanoseconds: 60e9 } })).status,
      200,
    );
    assert.deepEqual(await reply('GET_LOGGING_LEVEL'), { level: 0 });
    // Lines are written in order, a few milliseconds after they are logged: once this one is
    // out, so is every line logged before the change.
    await waitFor('the change logged', () =>
      cluster.master.lines.find((l) => l.msg === 'logging level set' && l.to === 0),
    );
    const quiet = handled();
    await fetch(new URL('/health', cluster.masterUrl));
    const toggled = await fetch(new URL('/logging/toggle', cluster.masterUrl));
    assert.equal(await toggled.text(), '0\n');
    assert.equal(handled(), quiet, 'no debug lines at verbosity 0');

    const refused = await fetch(new URL('/logging/toggle?level=0', cluster.masterUrl));
    assert.equal(refused.status, 400, 'a level needs a duration');
    const raised = await fetch(
      new URL('/logging/toggle?level=2&duration=500ms', cluster.masterUrl),
    );
    assert.equal(raised.status, 200);
    await waitFor('debug lines again', async () => {
      await fetch(new URL('/health', cluster.masterUrl));
      return handled() > quiet ? true : undefined;
    });
    await waitFor('the level to revert to the original', async () => {
      const { level } = await reply('GET_LOGGING_LEVEL');
      return level === 1 ? true : undefined;
    });
  });
});
